package server

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/service"
)

func (s *Server) pageApproval(c *gin.Context) {
	l, err := s.svc.ApprovalRequest(c.Request.Context(), c.Param("token"))
	if err != nil {
		s.failApproval(c, err)
		return
	}
	d := l.AccessDuration
	data := gin.H{"A": l.Assignment, "Approver": l.Approver, "Expires": l.Token.ExpiresAt, "Token": c.Param("token"),
		"Duration": domain.HumanDuration(d), "EndsIfNow": time.Now().Add(d), "Approvals": l.Approvals}
	if l.Extension != nil {
		data["Extension"], data["RequestedByName"] = *l.Extension, l.RequestedByName
	} else if at := l.Assignment.StartsAt; at != nil && at.After(time.Now()) {
		data["StartsAt"], data["EndsIfNow"] = *at, at.Add(d) // approved now, access still waits for its start
	}
	s.render(c, http.StatusOK, "approval", data)
}

func (s *Server) pageApprovalPost(c *gin.Context) {
	approve, err := parseDecision(c.PostForm("decision"))
	if err != nil {
		s.fail(c, err)
		return
	}
	a, x, err := s.svc.DecideByLink(c.Request.Context(), c.Param("token"), approve)
	if err != nil && !errors.Is(err, service.ErrDecisionPending) {
		s.failApproval(c, err)
		return
	}
	s.render(c, http.StatusOK, "approval_done", gin.H{"A": a, "Extension": x, "Approved": approve})
}

// failApproval answers an approval link's refusal. A link opened or used
// after its request was settled (R4) is no fault of the approver's, so
// that page says what happened, calmly; others are errors.
func (s *Server) failApproval(c *gin.Context, err error) {
	if p := problem.As(err); p != nil && p.Rule == "R4" && (p.Kind == problem.KindGone || p.Kind == problem.KindConflict) {
		c.Set(problemKey, p)
		s.render(c, status(p), "error", gin.H{"Problem": shownProblem{p}, "Settled": true})
		return
	}
	s.fail(c, err)
}
