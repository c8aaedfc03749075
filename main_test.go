package main

import (
	"context"
	"strings"
	"testing"

	"github.com/partneraccess/partneraccess/internal/config"
)

func TestHelpListsTheCommands(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"--help"}, {"help"}, {"worker", "-h"}} {
		var out, errs strings.Builder
		code := run(context.Background(), args, func(string) string { return "" }, &out, &errs)
		if code != 0 || errs.Len() != 0 {
			t.Fatalf("%v: exit %d, stderr %q; want 0 and nothing on stderr", args, code, errs.String())
		}
		for _, c := range config.Commands {
			if !strings.Contains(out.String(), c.Help) {
				t.Errorf("%v: the help lacks %q", args, c.Help)
			}
		}
		if !strings.Contains(out.String(), "-approval-timeout") {
			t.Errorf("%v: the help lacks the settings", args)
		}
	}
}

func TestUnknownCommandOrFlagSaysWhereHelpIs(t *testing.T) {
	for _, args := range [][]string{{"frontend"}, {"-no-such-flag"}} {
		var out, errs strings.Builder
		code := run(context.Background(), args, func(string) string { return "" }, &out, &errs)
		if code != 2 || !strings.Contains(errs.String(), "partneraccess help") {
			t.Fatalf("%v: exit %d, stderr %q; want 2 and a pointer to the help", args, code, errs.String())
		}
	}
}
