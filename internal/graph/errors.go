package graph

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Sentinels for errors.Is on an *Error.
var (
	// ErrNotFound means the user, group or membership does not exist, or
	// is not visible yet: Graph replicates a new object within seconds.
	ErrNotFound = errors.New("graph: not found")
	// ErrExists means another object already has the user principal name.
	ErrExists = errors.New("graph: already exists")
)

// Error is a failed call: Graph's OData error, the token endpoint's
// error, or no answer at all.
type Error struct {
	Status     int    // HTTP status; 0 when there was no answer
	Code       string // Graph's or Entra's error code, e.g. Authorization_RequestDenied
	Message    string
	Method     string
	Path       string        // under /v1.0 (or the token endpoint's), without the query
	RetryAfter time.Duration // what Retry-After asked for, if anything
	Token      bool          // the token endpoint failed, not Graph

	conflict bool  // a detail of the error said ObjectConflict on userPrincipalName
	network  bool  // no answer
	err      error // why there was no answer
}

// Error reads "graph: METHOD PATH: STATUS CODE: MESSAGE".
func (e *Error) Error() string {
	status := "no answer"
	if e.Status != 0 {
		status = strconv.Itoa(e.Status)
	}
	if e.Code != "" {
		status += " " + e.Code
	}
	return fmt.Sprintf("graph: %s %s: %s: %s", e.Method, e.Path, status, e.Message)
}

// Unwrap returns why there was no answer (e.g. context.DeadlineExceeded).
func (e *Error) Unwrap() error { return e.err }

// Is matches ErrNotFound (404) and ErrExists (400 for a taken user
// principal name).
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrExists:
		if e.Status != http.StatusBadRequest {
			return false
		}
		return e.conflict || ((e.Code == "ObjectConflict" || strings.Contains(e.Message, "already exists")) &&
			strings.Contains(e.Message, "userPrincipalName"))
	}
	return false
}

// Retryable reports whether trying again may succeed: throttling (429), a
// server error (5xx) or no answer at all. after is the wait Retry-After
// asked for, 0 when it did not.
func Retryable(err error) (retry bool, after time.Duration) {
	e, ok := errors.AsType[*Error](err)
	if !ok {
		return false, 0
	}
	return e.network || e.Status == http.StatusTooManyRequests || e.Status >= 500, e.RetryAfter
}

// Denied reports whether the tenant refused the app: a wrong client ID or
// secret, a missing permission or admin consent. Retrying cannot fix it;
// the tenant's administrator can.
func Denied(err error) bool {
	e, ok := errors.AsType[*Error](err)
	if !ok {
		return false
	}
	// Entra answers a wrong client or secret with 400 or 401.
	if e.Token && e.Status == http.StatusBadRequest {
		return true
	}
	return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden
}

// Permission names the application permission a call refused with 403
// most likely lacks, going by what the call was; "" for any other error.
func Permission(err error) string {
	e, ok := errors.AsType[*Error](err)
	if !ok || e.Token || e.Status != http.StatusForbidden {
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

// odataError reads Graph's error answer,
// {"error": {"code", "message", "details": [{"code", "target"}]}}.
// Anything else is reported by its status alone: the body is not quoted.
func odataError(res *http.Response, method, path string) error {
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Details []struct {
				Code   string `json:"code"`
				Target string `json:"target"`
			} `json:"details"`
		} `json:"error"`
	}
	b, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	e := &Error{Status: res.StatusCode, Method: method, Path: path, RetryAfter: retryAfter(res.Header)}
	if json.Unmarshal(b, &body) == nil && body.Error.Code != "" {
		e.Code, e.Message = body.Error.Code, body.Error.Message
		for _, d := range body.Error.Details {
			e.conflict = e.conflict || d.Code == "ObjectConflict" && d.Target == "userPrincipalName"
		}
	} else {
		e.Message = http.StatusText(res.StatusCode)
	}
	return e
}

// networkError is a request that got no answer.
func networkError(method, path string, err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		err = ue.Err // its text repeats the whole URL
	}
	return &Error{Method: method, Path: path, Message: err.Error(), network: true, err: err}
}

// retryAfter reads Retry-After in seconds, the form Graph and Entra use.
func retryAfter(h http.Header) time.Duration {
	if s, err := strconv.Atoi(strings.TrimSpace(h.Get("Retry-After"))); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 0
}
