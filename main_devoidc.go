package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/partneraccess/partneraccess/internal/devoidc"
)

// devOIDC runs the dev sign-in provider (partneraccess dev-oidc).
func devOIDC(ctx context.Context, args []string, stderr, stdout io.Writer) int {
	fs := flag.NewFlagSet("dev-oidc", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", devoidc.DefaultAddr, "where the provider listens (a loopback address)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := devoidc.Run(ctx, *addr, stdout); err != nil {
		fmt.Fprintln(stderr, "partneraccess:", err)
		return 1
	}
	return 0
}
