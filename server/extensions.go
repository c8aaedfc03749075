package server

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/rules"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/workflows"
)

// requestExtension asks for more Standard access (R4): the workflow sends
// the approvers one-time links, as for the first request. It answers the
// recorded request, or a refusal the workflow or the rules gave.
func (s *Server) requestExtension(ctx context.Context, actor store.User, id, duration, reason string) (store.Extension, error) {
	a, e, err := s.checkExtension(ctx, actor, id, duration, reason)
	if err != nil {
		s.refuse(ctx, actor, "extension.refused", id, a.SiteID, err)
		return store.Extension{}, err
	}
	sig := workflows.ExtensionSignal{Duration: e.d, Reason: e.Reason, By: person(actor), Vouch: s.vouch()}
	sig.MAC = s.keys.SignSignal(sig.SignedFields(a.ID)...)
	if err := s.signal(ctx, a, workflows.SignalExtension, sig); err != nil {
		return store.Extension{}, err
	}
	o, ok := s.awaitOutcome(ctx, a, sig.ID, nil)
	switch {
	case !ok:
		return store.Extension{}, problem.Unavailable("the request for more time was sent, but the workflow has not answered yet; follow the assignment page")
	case o.Conflict:
		return store.Extension{}, problem.Conflict("%s", o.Detail)
	case !o.Accepted:
		return store.Extension{}, problem.Unprocessable("R4", "", "%s", o.Detail)
	}
	return s.extension(context.WithoutCancel(ctx), a.ID, e.n)
}

// extensionAsk is a checked request for more time.
type extensionAsk struct {
	d time.Duration
	n int // the number it will get
	store.Extension
}

// checkExtension applies the rules before anything is sent: who asks, the
// state, the duration, one request at a time and MAX_EXTENSIONS, and that
// the run takes extension requests at all (runs started before they
// existed do not).
func (s *Server) checkExtension(ctx context.Context, actor store.User, id, duration, reason string) (store.Assignment, extensionAsk, error) {
	a, err := s.rules.VisibleAssignment(ctx, actor, id)
	if err != nil {
		return a, extensionAsk{}, err
	}
	if err := rules.CanAskExtension(actor, a); err != nil {
		return a, extensionAsk{}, err
	}
	var ask extensionAsk
	if ask.d, err = rules.ExtensionDuration(duration, s.cfg.Timing.AccessDuration); err != nil {
		return a, ask, err
	}
	if ask.Reason, err = rules.Reason(reason); err != nil {
		return a, ask, err
	}
	es, err := s.store.Extensions(ctx, a.ID)
	if err != nil {
		return a, ask, err
	}
	if err := rules.ExtensionsLeft(es, s.cfg.Timing.MaxExtensions); err != nil {
		return a, ask, err
	}
	ask.n = len(es) + 1
	st, err := s.status(ctx, a)
	if err != nil {
		return a, ask, err
	}
	if !st.Extensible {
		return a, ask, problem.Conflict("this assignment takes no extension requests: it started before they existed, or with MAX_EXTENSIONS=0; assign again once it ends")
	}
	return a, ask, nil
}

// status asks the workflow for its status.
func (s *Server) status(ctx context.Context, a store.Assignment) (workflows.Status, error) {
	tctx, cancel := context.WithTimeout(ctx, temporalTimeout)
	defer cancel()
	var st workflows.Status
	v, err := s.temporal.QueryWorkflow(tctx, a.WorkflowID, a.ID, workflows.QueryStatus)
	if err == nil {
		err = v.Get(&st)
	}
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		return st, problem.Conflict("the assignment has already ended")
	case err != nil:
		s.log.Error("query assignment workflow", "assignment", a.ID, "error", err)
		return st, errTemporalDown
	}
	return st, nil
}

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
	e, err := s.requestExtension(c, u, c.Param("id"), req.Duration, req.Reason)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Header("Location", "/api/v1/assignments/"+url.PathEscape(c.Param("id")))
	c.JSON(http.StatusAccepted, gin.H{"assignment_id": c.Param("id"), "extension": e,
		"detail": "the approvers have been asked; GET the assignment to follow"})
}

func (s *Server) pageExtensionPost(c *gin.Context) {
	u, _ := actor(c)
	_, err := s.requestExtension(c, u, c.Param("id"), c.PostForm("duration"), c.PostForm("reason"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/assignments/"+url.PathEscape(c.Param("id"))+"?notice=extension")
}

// emailView is an email of an assignment as the API shows it: its
// delivery state, and why it failed or is being retried.
type emailView struct {
	Kind      string     `json:"kind"`
	To        string     `json:"to"`
	Subject   string     `json:"subject"`
	Status    string     `json:"status"` // queued (retrying), sending, sent or failed
	Error     string     `json:"error,omitempty"`
	Attempts  int        `json:"attempts"`
	CreatedAt time.Time  `json:"created_at"`
	SentAt    *time.Time `json:"sent_at,omitempty"`
}

func emailViews(es []store.Email) []emailView {
	out := make([]emailView, len(es))
	for i, e := range es {
		v := emailView{Kind: e.Kind, To: e.To, Subject: e.Subject, Status: e.Status, Error: e.Error, Attempts: e.Attempts, CreatedAt: e.CreatedAt}
		switch e.Status {
		case store.EmailSent, store.EmailLocal: // the local mailbox is this deployment's delivery
			v.Status = store.EmailSent
			at := e.UpdatedAt
			v.SentAt = &at
		case store.EmailSending:
			if e.Error != "" { // the last attempt failed; it is retried
				v.Status = "queued"
			}
		}
		out[i] = v
	}
	return out
}

// assignmentRecord is what the store keeps of one assignment, beyond the
// workflow's history: its emails and extension requests.
type assignmentRecord struct {
	Emails     []store.Email
	Extensions []store.Extension
}

func (s *Server) assignmentRecord(ctx context.Context, id string) (assignmentRecord, error) {
	var r assignmentRecord
	var err error
	if r.Emails, err = s.store.Emails(ctx, store.EmailFilter{AssignmentID: id}); err != nil {
		return r, err
	}
	r.Extensions, err = s.store.Extensions(ctx, id)
	return r, err
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
	tctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := s.temporal.DescribeWorkflowExecution(tctx, a.WorkflowID, a.ID)
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		return gin.H{"Gone": true}
	case err != nil:
		return nil
	}
	out := gin.H{"Gone": false}
	if link := s.workflowURL(a); link != "" {
		out["URL"] = link
	}
	return out
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
