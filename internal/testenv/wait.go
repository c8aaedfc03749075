package testenv

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/store"
)

// What a test waits for and reads back: states, closed runs, emails and
// their links, counts.

// WaitState waits until the assignment's projection reaches state.
func (e *Env) WaitState(id, state string, within time.Duration) store.Assignment {
	e.T.Helper()
	var a store.Assignment
	var err error
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		a, err = e.Store.AssignmentByID(context.Background(), id)
		if err == nil && a.State == state {
			return a
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.T.Fatalf("assignment %s: state %q (err %v) after %v, want %q", id, a.State, err, within, state)
	return a
}

// WaitClosed waits until the assignment's workflow has finished, and the
// workflow it handed its last emails to, if any.
func (e *Env) WaitClosed(a store.Assignment) {
	e.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Client.GetWorkflow(ctx, a.WorkflowID, a.ID).Get(ctx, nil); err != nil && !temporal.IsCanceledError(err) {
		e.T.Fatalf("workflow of %s: %v", a.ID, err)
	}
	var nf *serviceerror.NotFound
	if err := e.Client.GetWorkflow(ctx, "assignment-emails/"+a.ID, "").Get(ctx, nil); err != nil && !errors.As(err, &nf) {
		e.T.Fatalf("emails of %s: %v", a.ID, err)
	}
}

// Settle waits until the assignment's workflow has no activity in flight
// (every email it started so far is recorded), so a snapshot taken next
// is not moved by its own emails.
func (e *Env) Settle(id string) {
	e.T.Helper()
	a, err := e.Store.AssignmentByID(context.Background(), id)
	if err != nil {
		e.T.Fatal(err)
	}
	e.Eventually(10*time.Second, "assignment "+id+" settled", func() bool {
		d, err := e.Client.DescribeWorkflowExecution(context.Background(), a.WorkflowID, a.ID)
		// No activity pending and no workflow task either: one that is
		// running may still schedule an email (after a local activity
		// has already written the state a test waited for).
		return err == nil && len(d.PendingActivities) == 0 && d.PendingWorkflowTask == nil
	})
}

// Eventually polls cond until it holds or within passes.
func (e *Env) Eventually(within time.Duration, what string, cond func() bool) {
	e.T.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			e.T.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Mail returns the emails recorded for an assignment, of a kind, to someone.
func (e *Env) Mail(assignmentID string, kind domain.EmailKind, to string) []store.Email {
	e.T.Helper()
	es, err := e.Store.Emails(context.Background(), store.EmailFilter{AssignmentID: assignmentID, To: to})
	if err != nil {
		e.T.Fatal(err)
	}
	var out []store.Email
	for _, m := range es {
		if m.Kind == string(kind) {
			out = append(out, m)
		}
	}
	return out
}

// Link returns the first link in an email's text under prefix (e.g. "/approvals/").
func Link(m store.Email, prefix string) (string, error) {
	for _, l := range linkRE.FindAllString(m.Text, -1) {
		if i := strings.Index(l, prefix); i >= 0 {
			return l[i:], nil
		}
	}
	return "", fmt.Errorf("no %s link in %q", prefix, m.Subject)
}

// ApprovalPath waits for the approval request to an approver and returns
// the path of its link, as the approver would click it.
func (e *Env) ApprovalPath(assignmentID, approverEmail string) string {
	e.T.Helper()
	var path string
	e.Eventually(10*time.Second, "approval request to "+approverEmail, func() bool {
		ms := e.Mail(assignmentID, domain.EmailApprovalRequest, approverEmail)
		if len(ms) == 0 || ms[0].Status != store.EmailLocal {
			return false
		}
		var err error
		path, err = Link(ms[0], "/approvals/")
		return err == nil
	})
	e.Settle(assignmentID)
	return path
}

// Snapshot counts rows that a refused request must not change.
type Snapshot struct {
	Assignments, Grants, Emails, Tokens, Credentials, AuditOK int
}

// Counts reads a snapshot.
func (e *Env) Counts() Snapshot {
	e.T.Helper()
	ctx := context.Background()
	as, err := e.Store.Assignments(ctx, store.AssignmentFilter{Limit: 100000})
	if err != nil {
		e.T.Fatal(err)
	}
	es, _ := e.Store.Emails(ctx, store.EmailFilter{Limit: 100000})
	log, _ := e.Store.AuditLog(ctx, store.AuditFilter{Limit: 100000})
	s := Snapshot{Assignments: len(as), Emails: len(es)}
	for _, a := range as {
		if _, err := e.Store.GrantByAssignment(ctx, a.ID); err == nil {
			s.Grants++
		}
		if c, err := e.Store.CredentialByAssignment(ctx, a.ID); err == nil && c.Ciphertext != nil {
			s.Credentials++
		}
	}
	for _, l := range log {
		if l.Outcome == store.OutcomeOK {
			s.AuditOK++
		}
	}
	return s
}

// AssignmentIsOpen reports whether the store has an open assignment.
func (e *Env) AssignmentIsOpen(site, user string) bool {
	_, err := e.Store.OpenAssignment(context.Background(), site, user)
	return !errors.Is(err, store.ErrNotFound)
}
