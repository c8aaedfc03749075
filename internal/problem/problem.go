// Package problem is the one error type the service shows to people: what
// kind of refusal or failure it is, the rule or field at fault, and a
// message a person understands. It knows nothing of HTTP: the server maps
// each kind to a status and renders application/problem+json (RFC 9457)
// or an error page.
package problem

import (
	"errors"
	"fmt"
	"time"
)

// Kind is what went wrong, as the caller should understand it.
type Kind int

const (
	// KindInternal is a failure on our side; the zero Kind, so an Error
	// made without one never passes for a refusal of the caller's.
	KindInternal Kind = iota
	// KindInvalid: the request is malformed.
	KindInvalid
	// KindUnauthorized: no valid login.
	KindUnauthorized
	// KindForbidden: the caller may not, under a rule.
	KindForbidden
	// KindNotFound: it does not exist, or the caller may not see it.
	KindNotFound
	// KindConflict: the thing is not in a state that allows the request.
	KindConflict
	// KindGone: its time passed, or it was used.
	KindGone
	// KindUnprocessable: well formed, but it breaks a rule or a policy.
	KindUnprocessable
	// KindTooManyRequests: beyond a rate limit; RetryAfter says when to
	// come back.
	KindTooManyRequests
	// KindUnavailable: a dependency (Temporal, the store) is down; nothing
	// was changed.
	KindUnavailable
	// KindUpstreamFailed: a system we depend on for the request (the
	// customer's directory, the email provider) did not do its part.
	KindUpstreamFailed

	// The kinds below are the server's own refusals of a request it cannot
	// take as sent, before any use case sees it.

	// KindTooLarge: the body is beyond the size taken.
	KindTooLarge
	// KindUnsupportedMedia: the body is of a type not taken.
	KindUnsupportedMedia
	// KindMethodNotAllowed: the path exists, the method does not.
	KindMethodNotAllowed
	// KindWrongHost: the request names a host this service does not
	// answer for.
	KindWrongHost
)

// Error is a refusal or failure to show to the caller.
type Error struct {
	Kind   Kind
	Rule   string // the spec rule refused, e.g. "R1"; "" when none
	Field  string // the request field at fault; "" when none
	Detail string // what went wrong and, where it helps, what to do
	// RetryAfter, when set, is how long the caller should wait
	// (KindTooManyRequests, KindUnavailable).
	RetryAfter time.Duration
	// Allowed is what the rule would accept, by name (R10: the longest
	// duration, the latest start, the example reason).
	Allowed map[string]string
	// Fields are every field at fault when a whole document was checked
	// (a policy): each with what is wrong there. Field names the first.
	Fields []FieldProblem
}

// FieldProblem is what is wrong with one field of a document.
type FieldProblem struct {
	Field  string
	Detail string
}

func (e *Error) Error() string {
	if e.Rule != "" {
		return fmt.Sprintf("%s: %s", e.Rule, e.Detail)
	}
	return e.Detail
}

// New is an Error of kind with a detail.
func New(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Detail: fmt.Sprintf(format, args...)}
}

// Forbidden is a refusal under a rule.
func Forbidden(rule, format string, args ...any) *Error {
	return &Error{Kind: KindForbidden, Rule: rule, Detail: fmt.Sprintf(format, args...)}
}

// NotFound is for something that does not exist or may not be seen.
func NotFound(field, format string, args ...any) *Error {
	return &Error{Kind: KindNotFound, Field: field, Detail: fmt.Sprintf(format, args...)}
}

// Unprocessable is a request well formed that breaks a rule.
func Unprocessable(rule, field, format string, args ...any) *Error {
	return &Error{Kind: KindUnprocessable, Rule: rule, Field: field, Detail: fmt.Sprintf(format, args...)}
}

// Invalid is for malformed input.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Field: field, Detail: fmt.Sprintf(format, args...)}
}

// Conflict is a thing not in a state that allows the request.
func Conflict(format string, args ...any) *Error {
	return New(KindConflict, format, args...)
}

// Settled is a conflict under a rule: the request was already decided, or
// the thing ended, as the rule says it then stays.
func Settled(rule, format string, args ...any) *Error {
	return &Error{Kind: KindConflict, Rule: rule, Detail: fmt.Sprintf(format, args...)}
}

// Gone is a refusal under a rule whose time passed.
func Gone(rule, format string, args ...any) *Error {
	return &Error{Kind: KindGone, Rule: rule, Detail: fmt.Sprintf(format, args...)}
}

// Unauthorized is for no valid login.
func Unauthorized(format string, args ...any) *Error {
	return New(KindUnauthorized, format, args...)
}

// Unavailable is a dependency (Temporal, the store) down; nothing was changed.
func Unavailable(format string, args ...any) *Error {
	return New(KindUnavailable, format, args...)
}

// TooManyRequests is a caller beyond a rate limit, who may try again after
// wait.
func TooManyRequests(wait time.Duration, format string, args ...any) *Error {
	return &Error{Kind: KindTooManyRequests, Detail: fmt.Sprintf(format, args...), RetryAfter: wait}
}

// As returns err as an *Error, or nil.
func As(err error) *Error {
	var p *Error
	if errors.As(err, &p) {
		return p
	}
	return nil
}
