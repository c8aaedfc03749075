package main

import (
	"context"
	"os"
	"path/filepath"
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

// The split recipe's key command never replaces a key: the data written
// with it (issue 40: a one-process data folder) would become unreadable.
func TestNewKeyWritesAKeyAndNeverReplacesOne(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret.key")
	var out, errs strings.Builder
	if code := run(context.Background(), []string{"new-key", path}, func(string) string { return "" }, &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	first, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Config{DataDir: filepath.Dir(path)}
	if err := cfg.LoadOrCreateSecretKey(); err != nil || len(cfg.SecretKey) < 32 {
		t.Fatalf("the service reads %d bytes from it (%v), want a key of at least 32 bytes", len(cfg.SecretKey), err)
	}
	out.Reset()
	errs.Reset()
	code := run(context.Background(), []string{"new-key", path}, func(string) string { return "" }, &out, &errs)
	again, _ := os.ReadFile(path)
	if code != 1 || string(again) != string(first) || !strings.Contains(errs.String(), "already exists, and is kept") {
		t.Fatalf("second run: exit %d, stderr %q, file changed %v; want 1, the refusal, the key kept", code, errs.String(), string(again) != string(first))
	}
	if code := run(context.Background(), []string{"new-key"}, func(string) string { return "" }, &out, &errs); code != 2 {
		t.Fatalf("without a file: exit %d, want 2", code)
	}
}
