// Command partneraccess gives business partners time-bound, customer-approved
// access to customer sites.
//
//	partneraccess          everything in one process (embedded Temporal + UI, worker, HTTP server)
//	partneraccess worker   the Temporal worker, against TEMPORAL_ADDRESS
//	partneraccess server   the HTTP server, against TEMPORAL_ADDRESS
//	partneraccess temporal the embedded Temporal server and UI alone, for the two above
//
// Configuration comes from environment variables and flags; -h lists them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/partneraccess/partneraccess/internal/app"
	"github.com/partneraccess/partneraccess/internal/config"
)

func main() {
	mode, args := config.ModeAll, os.Args[1:]
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		mode, args = args[0], args[1:]
	}
	cfg, err := config.Load(mode, args, os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	} else if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.Run(ctx, cfg, os.Stdout, os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "partneraccess:", err)
		os.Exit(1)
	}
}
