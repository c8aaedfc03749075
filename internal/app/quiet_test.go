package app

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

func TestSDKWarningsGoBelowWarningOnceStopping(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
		var buf bytes.Buffer
		ctx, stop := context.WithCancel(context.Background())
		l := quietAfter(ctx, slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: level}))).With("component", "temporal-sdk")
		l.Warn("running")
		if !strings.Contains(buf.String(), "level=WARN msg=running") {
			t.Fatalf("LOG_LEVEL=%s: a warning while running was not logged as one: %q", level, buf.String())
		}
		stop()
		buf.Reset()
		l.Warn("stopping")
		l.Error("stopping")
		switch got := buf.String(); {
		case level == slog.LevelInfo && got != "":
			t.Fatalf("LOG_LEVEL=info: logged %q while stopping, want nothing", got)
		case level == slog.LevelDebug && strings.Count(got, "level=DEBUG msg=stopping component=temporal-sdk") != 2:
			t.Fatalf("LOG_LEVEL=debug: logged %q while stopping, want both as debug", got)
		}
	}
}
