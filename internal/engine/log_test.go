package engine

import (
	"bytes"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"go.temporal.io/server/common/log/tag"
)

func TestServerLogsBelowWarningWhileStartingOrStopping(t *testing.T) {
	cases := []struct {
		name  string
		level slog.Level // LOG_LEVEL
		quiet bool       // starting or stopping
		log   func(l logger)
		want  string // the level written, "" for nothing
	}{
		{"a warning while running", slog.LevelInfo, false, func(l logger) { l.Warn("w") }, "WARN"},
		{"an error while running", slog.LevelInfo, false, func(l logger) { l.Error("e") }, "ERROR"},
		{"a warning while stopping", slog.LevelInfo, true, func(l logger) { l.Warn("w") }, ""},
		{"an error while stopping", slog.LevelInfo, true, func(l logger) { l.Error("e") }, ""},
		{"info", slog.LevelInfo, false, func(l logger) { l.Info("i") }, ""},
		{"a warning while stopping, at debug", slog.LevelDebug, true, func(l logger) { l.Warn("w") }, "DEBUG"},
		{"info at debug", slog.LevelDebug, false, func(l logger) { l.Info("i") }, "DEBUG"},
		{"a warning through With, while stopping", slog.LevelInfo, true, func(l logger) { l.With(tag.NewStringTag("k", "v")).Warn("w") }, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			quiet := new(atomic.Bool)
			quiet.Store(tc.quiet)
			l := newLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: tc.level})), quiet).(logger)
			tc.log(l)
			got := buf.String()
			switch {
			case tc.want == "" && got != "":
				t.Fatalf("logged %q, want nothing", got)
			case tc.want != "" && !strings.Contains(got, "level="+tc.want):
				t.Fatalf("logged %q, want level %s", got, tc.want)
			}
		})
	}
}
