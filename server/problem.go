package server

import (
	"net/http"

	"github.com/partneraccess/partneraccess/internal/problem"
)

// statuses is the one place a kind of problem becomes an HTTP status.
var statuses = map[problem.Kind]int{
	problem.KindInternal:         http.StatusInternalServerError,
	problem.KindInvalid:          http.StatusBadRequest,
	problem.KindUnauthorized:     http.StatusUnauthorized,
	problem.KindForbidden:        http.StatusForbidden,
	problem.KindNotFound:         http.StatusNotFound,
	problem.KindConflict:         http.StatusConflict,
	problem.KindGone:             http.StatusGone,
	problem.KindUnprocessable:    http.StatusUnprocessableEntity,
	problem.KindTooManyRequests:  http.StatusTooManyRequests,
	problem.KindUnavailable:      http.StatusServiceUnavailable,
	problem.KindUpstreamFailed:   http.StatusBadGateway,
	problem.KindTooLarge:         http.StatusRequestEntityTooLarge,
	problem.KindUnsupportedMedia: http.StatusUnsupportedMediaType,
	problem.KindMethodNotAllowed: http.StatusMethodNotAllowed,
	problem.KindWrongHost:        http.StatusMisdirectedRequest,
}

// status is the HTTP status of p; a kind missing from the table is our
// fault, so it shows as one.
func status(p *problem.Error) int {
	if s, ok := statuses[p.Kind]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// shownProblem is a problem as the error page shows it.
type shownProblem struct {
	*problem.Error
}

// Title is the short, status-level summary.
func (p shownProblem) Title() string { return http.StatusText(status(p.Error)) }
