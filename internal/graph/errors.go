package graph

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Sentinels for errors.Is on an *Error.
var (
	// ErrNotFound: the user, group or membership does not exist (or is not
	// visible yet: Graph replicates a new object within seconds).
	ErrNotFound = errors.New("graph: not found")
	// ErrExists: an object with the same unique value exists (a UPN taken).
	ErrExists = errors.New("graph: already exists")
)

// Error is a failed Graph call: Graph's OData error, or the token
// endpoint's error.
type Error struct {
	Status     int    // HTTP status; 0 when the request did not get an answer
	Code       string // Graph's error code, e.g. Authorization_RequestDenied
	Message    string
	Method     string
	Path       string        // under /v1.0, without the query; never a secret
	RetryAfter time.Duration // what Retry-After asked for, if anything
	Token      bool          // the token endpoint failed
	network    bool
}

func (e *Error) Error() string {
	status := "no answer"
	if e.Status != 0 {
		status = strconv.Itoa(e.Status)
	}
	code := ""
	if e.Code != "" {
		code = " " + e.Code
	}
	return fmt.Sprintf("graph: %s %s: %s%s: %s", e.Method, e.Path, status, code, e.Message)
}

// Is matches ErrNotFound and ErrExists.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrExists:
		return e.Status == http.StatusBadRequest && (e.Code == "ObjectConflict" ||
			strings.Contains(e.Message, "same value for property userPrincipalName already exists"))
	}
	return false
}

// Retryable reports whether trying again may succeed: throttling (429),
// a server error (5xx) or no answer at all; after is the wait Graph asked
// for, if any.
func Retryable(err error) (retry bool, after time.Duration) {
	var e *Error
	if !errors.As(err, &e) {
		return false, 0
	}
	return e.network || e.Status == http.StatusTooManyRequests || e.Status >= 500, e.RetryAfter
}

// Denied reports whether the tenant refused the caller: a wrong secret or
// client, a missing permission or admin consent. Retrying cannot fix it.
func Denied(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	if e.Token {
		return e.Status == http.StatusBadRequest || e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden
	}
	return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden
}

// Permission names the application permission a denied call most likely
// lacks ("" when it cannot tell, as for a token refused).
func Permission(err error) string {
	var e *Error
	if !errors.As(err, &e) || e.Token {
		return ""
	}
	switch {
	case strings.HasSuffix(e.Path, "/revokeSignInSessions"):
		return "User.RevokeSessions.All"
	case strings.HasPrefix(e.Path, "/groups/"):
		return "GroupMember.ReadWrite.All"
	case strings.HasPrefix(e.Path, "/users"):
		return "User.ReadWrite.All"
	}
	return ""
}

// odataError reads Graph's error answer: {"error": {"code", "message"}}.
func odataError(res *http.Response, method, path string) error {
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	b, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	e := &Error{Status: res.StatusCode, Method: method, Path: path, RetryAfter: retryAfter(res.Header)}
	if json.Unmarshal(b, &body) == nil && body.Error.Code != "" {
		e.Code, e.Message = body.Error.Code, body.Error.Message
	} else {
		e.Message = http.StatusText(res.StatusCode)
	}
	return e
}

// retryAfter reads Retry-After in seconds (Graph's form).
func retryAfter(h http.Header) time.Duration {
	if s, err := strconv.Atoi(strings.TrimSpace(h.Get("Retry-After"))); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 0
}
