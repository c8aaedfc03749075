package entra

import (
	"errors"
	"fmt"
	"time"

	"github.com/partneraccess/partneraccess/internal/graph"
)

// Error is what went wrong in the directory, as activities.DirectoryError
// reads it: whether retrying can fix it, and how long the directory asked
// to wait.
type Error struct {
	msg   string
	perm  bool
	after time.Duration
	err   error
}

func (e *Error) Error() string             { return e.msg }
func (e *Error) Unwrap() error             { return e.err }
func (e *Error) Permanent() bool           { return e.perm }
func (e *Error) RetryAfter() time.Duration { return e.after }

func permanent(msg string) error { return &Error{msg: msg, perm: true} }

func lag(msg string) error {
	return &Error{msg: msg + " (Entra replicates a new account within seconds; retrying)", after: 2 * time.Second}
}

// refusal maps a Graph error: a 401 or 403 is permanent and names the
// permission that is likely missing; a 429 or 5xx carries its Retry-After.
func refusal(err error) error {
	if err == nil {
		return nil
	}
	if graph.Denied(err) {
		msg := err.Error()
		if p := graph.Permission(err); p != "" {
			msg = fmt.Sprintf("%s (the app registration needs the application permission %s, with admin consent)", msg, p)
		}
		return &Error{msg: msg, perm: true, err: err}
	}
	if retry, after := graph.Retryable(err); retry {
		return &Error{msg: err.Error(), after: after, err: err}
	}
	var ge *graph.Error
	if errors.As(err, &ge) {
		return &Error{msg: err.Error(), err: err}
	}
	return err
}
