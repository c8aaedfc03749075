package server

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/store"
)

// extensionRequest is the body of POST /api/v1/assignments/{id}/extension.
type extensionRequest struct {
	Duration string `json:"duration"`
	Reason   string `json:"reason"`
}

func (s *Server) apiRequestExtension(c *gin.Context) {
	u, _ := actor(c)
	var req extensionRequest
	if err := decodeJSON(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	e, err := s.svc.RequestExtension(c.Request.Context(), u, c.Param("id"), req.Duration, req.Reason)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Header("Location", "/api/v1/assignments/"+url.PathEscape(c.Param("id")))
	c.JSON(http.StatusAccepted, gin.H{"assignment_id": c.Param("id"), "extension": newExtensionView(e, nil),
		"detail": "the approvers have been asked; GET the assignment to follow"})
}

func (s *Server) pageExtensionPost(c *gin.Context) {
	u, _ := actor(c)
	_, err := s.svc.RequestExtension(c.Request.Context(), u, c.Param("id"), c.PostForm("duration"), c.PostForm("reason"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/assignments/"+url.PathEscape(c.Param("id"))+"?notice=extension")
}

// extensionChoices are the durations the page offers: a quarter, half
// and all of ACCESS_DURATION, as Go durations with their words.
func extensionChoices(most time.Duration) []gin.H {
	var out []gin.H
	seen := map[time.Duration]bool{}
	for _, d := range []time.Duration{most / 4, most / 2, most} {
		d = d.Round(time.Second)
		if d <= 0 || seen[d] {
			continue
		}
		seen[d] = true
		out = append(out, gin.H{"Value": d.String(), "Label": domain.HumanDuration(d)})
	}
	return out
}

// parseExtension reads an optional extension number from a form or body.
func parseExtension(v string) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 1000 {
		return 0, problem.Invalid("extension", "extension must be the number of an extension request")
	}
	return n, nil
}

// temporalRecord says whether Temporal still keeps the assignment's
// history, with a link to it in the Temporal UI; once the namespace's
// retention has passed, the page says that the store's record is what
// remains. Nil when Temporal did not answer.
func (s *Server) temporalRecord(ctx context.Context, a store.Assignment) gin.H {
	kept, known := s.svc.HistoryKept(ctx, a)
	switch {
	case !known:
		return nil
	case !kept:
		return gin.H{"Gone": true}
	}
	out := gin.H{"Gone": false}
	if link := s.workflowURL(a); link != "" {
		out["URL"] = link
	}
	return out
}

// workflowURL is the assignment's workflow in the Temporal UI, for
// operators; empty when no UI is configured.
func (s *Server) workflowURL(a store.Assignment) string {
	if s.cfg.TemporalUIURL == "" || a.WorkflowID == "" {
		return ""
	}
	return s.cfg.TemporalUIURL + "/namespaces/" + url.PathEscape(s.cfg.TemporalNamespace) + "/workflows/" + url.PathEscape(a.WorkflowID) +
		"/" + url.PathEscape(a.ID) + "/history" // an assignment's ID is its workflow run's ID
}

// humanText writes a duration (a time.Duration or a Go duration string, as
// the store keeps it) in words.
func humanText(v any) string {
	switch d := v.(type) {
	case time.Duration:
		return domain.HumanDuration(d)
	case string:
		if p, err := time.ParseDuration(d); err == nil {
			return domain.HumanDuration(p)
		}
		return d
	}
	return ""
}
