package engine

import (
	"context"
	"log/slog"
	"sync/atomic"

	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// logger passes the server's warnings and errors to slog, and its info as
// debug. While the server starts and stops, warnings and errors are expected
// (services waiting for each other, connections closing), so then they go
// out as debug too: a normal start and Ctrl-C print nothing from the server
// unless LOG_LEVEL=debug.
type logger struct {
	l     *slog.Logger
	quiet *atomic.Bool // starting or stopping
}

func newLogger(l *slog.Logger, quiet *atomic.Bool) log.Logger {
	return logger{l.With("component", "temporal-server"), quiet}
}

func (g logger) emit(level slog.Level, msg string, tags []tag.Tag) {
	if level > slog.LevelInfo && g.quiet.Load() {
		level = slog.LevelDebug
	}
	if !g.l.Enabled(context.Background(), level) {
		return
	}
	g.l.Log(context.Background(), level, msg, args(tags)...)
}

func (g logger) Debug(string, ...tag.Tag)           {}
func (g logger) Info(msg string, tags ...tag.Tag)   { g.emit(slog.LevelDebug, msg, tags) }
func (g logger) Warn(msg string, tags ...tag.Tag)   { g.emit(slog.LevelWarn, msg, tags) }
func (g logger) Error(msg string, tags ...tag.Tag)  { g.emit(slog.LevelError, msg, tags) }
func (g logger) DPanic(msg string, tags ...tag.Tag) { g.emit(slog.LevelError, msg, tags) }
func (g logger) Panic(msg string, tags ...tag.Tag)  { g.emit(slog.LevelError, msg, tags); panic(msg) }
func (g logger) Fatal(msg string, tags ...tag.Tag)  { g.emit(slog.LevelError, msg, tags); panic(msg) }
func (g logger) With(tags ...tag.Tag) log.Logger    { return logger{g.l.With(args(tags)...), g.quiet} }
func (g logger) Skip(int) log.Logger                { return g }

func args(tags []tag.Tag) []any {
	out := make([]any, 0, 2*len(tags))
	for _, t := range tags {
		out = append(out, t.Key(), t.Value())
	}
	return out
}

// quietSDKLogger silences the short-lived client used while starting.
type quietSDKLogger struct{}

func (quietSDKLogger) Debug(string, ...any) {}
func (quietSDKLogger) Info(string, ...any)  {}
func (quietSDKLogger) Warn(string, ...any)  {}
func (quietSDKLogger) Error(string, ...any) {}
