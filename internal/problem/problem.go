// Package problem is the one error type the service shows to people: an HTTP
// status, the rule or field at fault, and a message a person understands. The
// server renders it as application/problem+json (RFC 9457) or an error page.
package problem

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Error is a refusal or failure to show to the caller.
type Error struct {
	Status int    // HTTP status
	Rule   string // the spec rule refused, e.g. "R1"; "" when none
	Field  string // the request field at fault; "" when none
	Detail string // what went wrong and, where it helps, what to do
	// RetryAfter, when set, is how long the caller should wait (429, 503).
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Rule != "" {
		return fmt.Sprintf("%s: %s", e.Rule, e.Detail)
	}
	return e.Detail
}

// Title is the short, status-level summary.
func (e *Error) Title() string { return http.StatusText(e.Status) }

// Forbidden is a 403 refusal under a rule.
func Forbidden(rule, format string, args ...any) *Error {
	return &Error{Status: http.StatusForbidden, Rule: rule, Detail: fmt.Sprintf(format, args...)}
}

// NotFound is a 404 for something that does not exist or may not be seen.
func NotFound(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusNotFound, Field: field, Detail: fmt.Sprintf(format, args...)}
}

// Unprocessable is a 422: the request is well formed but breaks a rule.
func Unprocessable(rule, field, format string, args ...any) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Rule: rule, Field: field, Detail: fmt.Sprintf(format, args...)}
}

// Invalid is a 400 for malformed input.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Field: field, Detail: fmt.Sprintf(format, args...)}
}

// Conflict is a 409: the thing is not in a state that allows the request.
func Conflict(format string, args ...any) *Error {
	return &Error{Status: http.StatusConflict, Detail: fmt.Sprintf(format, args...)}
}

// Settled is a 409 under a rule: the request was already decided, or the
// thing ended, as the rule says it then stays.
func Settled(rule, format string, args ...any) *Error {
	return &Error{Status: http.StatusConflict, Rule: rule, Detail: fmt.Sprintf(format, args...)}
}

// Gone is a 410 under a rule: its time passed.
func Gone(rule, format string, args ...any) *Error {
	return &Error{Status: http.StatusGone, Rule: rule, Detail: fmt.Sprintf(format, args...)}
}

// Unauthorized is a 401: no valid login.
func Unauthorized(format string, args ...any) *Error {
	return &Error{Status: http.StatusUnauthorized, Detail: fmt.Sprintf(format, args...)}
}

// Unavailable is a 503: a dependency (Temporal, the store) is down; nothing was changed.
func Unavailable(format string, args ...any) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Detail: fmt.Sprintf(format, args...)}
}

// TooManyRequests is a 429: the caller went beyond a rate limit and may
// try again after wait.
func TooManyRequests(wait time.Duration, format string, args ...any) *Error {
	return &Error{Status: http.StatusTooManyRequests, Detail: fmt.Sprintf(format, args...), RetryAfter: wait}
}

// As returns err as an *Error, or nil.
func As(err error) *Error {
	var p *Error
	if errors.As(err, &p) {
		return p
	}
	return nil
}
