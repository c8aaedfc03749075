package app

import (
	"context"
	"log/slog"
)

// quietAfter is l, except that once ctx ends (the service is stopping) its
// warnings and errors go out as debug: the Temporal SDK's pollers, cut off
// by the stop, complain, and that is expected.
func quietAfter(ctx context.Context, l *slog.Logger) *slog.Logger {
	return slog.New(demoting{l.Handler(), ctx})
}

type demoting struct {
	slog.Handler
	stop context.Context
}

func (h demoting) level(l slog.Level) slog.Level {
	if l > slog.LevelInfo && h.stop.Err() != nil {
		return slog.LevelDebug
	}
	return l
}

func (h demoting) Enabled(ctx context.Context, l slog.Level) bool {
	return h.Handler.Enabled(ctx, h.level(l))
}

func (h demoting) Handle(ctx context.Context, r slog.Record) error {
	r.Level = h.level(r.Level)
	return h.Handler.Handle(ctx, r)
}

func (h demoting) WithAttrs(as []slog.Attr) slog.Handler {
	return demoting{h.Handler.WithAttrs(as), h.stop}
}
func (h demoting) WithGroup(name string) slog.Handler {
	return demoting{h.Handler.WithGroup(name), h.stop}
}
