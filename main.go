// Command partneraccess gives business partners time-bound, customer-approved
// access to customer sites.
//
//	partneraccess          everything in one process (embedded Temporal + UI, worker, HTTP server)
//	partneraccess worker   the Temporal worker, against TEMPORAL_ADDRESS
//	partneraccess server   the HTTP server, against TEMPORAL_ADDRESS
//	partneraccess temporal the embedded Temporal server and UI alone, for the two above
//	partneraccess dev-oidc a sign-in provider for trying SSO on one machine
//	partneraccess inspect ID  what the engine knows of one assignment
//	partneraccess new-key FILE a new SECRET_KEY in a file that does not exist yet
//
// Configuration comes from environment variables and flags; help (or -h)
// lists the commands and every setting.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/partneraccess/partneraccess/internal/app"
	"github.com/partneraccess/partneraccess/internal/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs the command line args and returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	mode := config.ModeAll
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		mode, args = args[0], args[1:]
	}
	if mode == "help" {
		config.Usage(stdout)
		return 0
	}
	if mode == config.ModeDevOIDC {
		return devOIDC(ctx, args, stderr, stdout)
	}
	if mode == config.ModeNewKey {
		return newKey(args, stdout, stderr)
	}
	if mode == config.ModeInspect {
		return inspect(ctx, args, getenv, stdout, stderr)
	}
	cfg, err := config.Load(mode, args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		config.Usage(stdout)
		return 0
	} else if err != nil {
		fmt.Fprintln(stderr, err)
		fmt.Fprintln(stderr, "(partneraccess help lists the commands and settings)")
		return 2
	}
	if err := app.Run(ctx, cfg, stdout, stderr, nil); err != nil {
		fmt.Fprintln(stderr, "partneraccess:", err)
		return 1
	}
	return 0
}

// newKey writes a new SECRET_KEY to the file named (partneraccess new-key
// FILE), refusing to replace one.
func newKey(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 || args[0] == "" || args[0][0] == '-' {
		fmt.Fprintln(stderr, "usage: partneraccess new-key FILE (FILE must not exist yet; its folder must)")
		return 2
	}
	if err := config.WriteNewSecretKey(args[0]); err != nil {
		fmt.Fprintln(stderr, "partneraccess:", err)
		return 1
	}
	fmt.Fprintf(stdout, "a new key is in %s: give it to every worker and server as SECRET_KEY=$(cat %s)\n", args[0], args[0])
	return 0
}
