package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/partneraccess/partneraccess/internal/app"
	"github.com/partneraccess/partneraccess/internal/config"
)

// inspect prints what the engine knows of one assignment (partneraccess
// inspect ID [flags]): the settings are the one-process service's, so it
// finds a service started with go run . as it is.
func inspect(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 || len(args[0]) == 0 || args[0][0] == '-' {
		fmt.Fprintln(stderr, "usage: partneraccess inspect <assignment-id> [flags]; the settings are the service's (partneraccess help)")
		return 2
	}
	cfg, err := config.Load(config.ModeAll, args[1:], getenv)
	if errors.Is(err, flag.ErrHelp) {
		config.Usage(stdout)
		return 0
	} else if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if err := app.Inspect(ctx, cfg, args[0], stdout); err != nil {
		fmt.Fprintln(stderr, "partneraccess:", err)
		return 1
	}
	return 0
}
