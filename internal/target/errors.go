package target

import "time"

// Error is a target's refusal or failure as the activities read it, the
// same for every target: whether retrying can fix it, and how long the
// directory asked to wait.
type Error struct {
	Msg string
	// Permanent: retrying cannot fix it (Msg names what is missing).
	Permanent bool
	// RetryAfter: the directory asked to wait that long (0: it did not).
	RetryAfter time.Duration
	// Err is the directory's own error, kept for errors.Is and errors.As.
	Err error
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

// Permanent is a refusal that retrying cannot fix; msg says what to fix.
func Permanent(msg string) error { return &Error{Msg: msg, Permanent: true} }
