package server

import (
	"crypto/subtle"
	"sort"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/partneraccess/partneraccess/internal/service"
	"github.com/partneraccess/partneraccess/internal/store"
)

// The API's own view types. They are built from the service's results, so
// a change of a store column is never a change of the API; the OpenAPI
// document (docs/openapi.yaml) describes them, and every answer in the
// tests is checked against it.

// assignmentView is an assignment as the API shows it.
type assignmentView struct {
	ID               string     `json:"id"`
	WorkflowID       string     `json:"workflow_id"`
	SiteID           string     `json:"site_id"`
	SiteName         string     `json:"site_name"`
	CustomerID       string     `json:"customer_id"`
	CustomerName     string     `json:"customer_name"`
	PartnerID        string     `json:"partner_id"`
	PartnerUserID    string     `json:"partner_user_id"`
	PartnerUserName  string     `json:"partner_user_name"`
	PartnerUserEmail string     `json:"partner_user_email"`
	Role             string     `json:"role"`
	Reason           string     `json:"reason"`
	Edition          string     `json:"edition"`
	State            string     `json:"state"`
	RequestedBy      string     `json:"requested_by"`
	RequestedAt      time.Time  `json:"requested_at"`
	ApprovalDeadline *time.Time `json:"approval_deadline,omitempty"`
	DecidedBy        string     `json:"decided_by,omitempty"`
	Decision         string     `json:"decision,omitempty"`
	DecidedAt        *time.Time `json:"decided_at,omitempty"`
	ActivatedAt      *time.Time `json:"activated_at,omitempty"`
	AccessEndsAt     *time.Time `json:"access_ends_at,omitempty"`
	EndedAt          *time.Time `json:"ended_at,omitempty"`
	EndedBy          string     `json:"ended_by,omitempty"`
	EndReason        string     `json:"end_reason,omitempty"`
	Failure          string     `json:"failure,omitempty"`
	UpdatedAt        time.Time  `json:"updated_at"`
	// What the customer's policy asked (R10): how many approvals settle the
	// request, and when access starts if not once approved.
	ApprovalsRequired int        `json:"approvals_required"`
	StartsAt          *time.Time `json:"starts_at,omitempty"`
}

func newAssignmentView(a store.Assignment) assignmentView {
	return assignmentView{
		ID: a.ID, WorkflowID: a.WorkflowID, SiteID: a.SiteID, SiteName: a.SiteName, CustomerID: a.CustomerID,
		CustomerName: a.CustomerName, PartnerID: a.PartnerID, PartnerUserID: a.PartnerUserID, PartnerUserName: a.PartnerUserName,
		PartnerUserEmail: a.PartnerUserEmail, Role: a.Role, Reason: a.Reason, Edition: a.Edition, State: a.State,
		RequestedBy: a.RequestedBy, RequestedAt: a.RequestedAt, ApprovalDeadline: a.ApprovalDeadline, DecidedBy: a.DecidedBy,
		Decision: a.Decision, DecidedAt: a.DecidedAt, ActivatedAt: a.ActivatedAt, AccessEndsAt: a.AccessEndsAt,
		EndedAt: a.EndedAt, EndedBy: a.EndedBy, EndReason: a.EndReason, Failure: a.Failure, UpdatedAt: a.UpdatedAt,
		// 0 is an assignment the store has not yet filled in: the default, one.
		ApprovalsRequired: max(a.ApprovalsRequired, 1), StartsAt: a.StartsAt,
	}
}

func assignmentViews(as []store.Assignment) []assignmentView {
	out := make([]assignmentView, len(as))
	for i, a := range as {
		out[i] = newAssignmentView(a)
	}
	return out
}

// assignmentDetailView is GET /api/v1/assignments/{id}.
type assignmentDetailView struct {
	assignmentView
	Approvals         []approvalView         `json:"approvals"` // of the request, oldest first
	Extensions        []extensionView        `json:"extensions"`
	Emails            []emailView            `json:"emails"`
	RevocationPending *revocationPendingView `json:"revocation_pending,omitempty"`
}

// revocationPendingView says what keeps a directory from letting access go.
type revocationPendingView struct {
	Since     time.Time `json:"since"`
	Attempts  int       `json:"attempts"`
	LastError string    `json:"last_error"`
}

// approvalView is an approval that counted, by the approver's email as
// decided_by names them.
type approvalView struct {
	By string    `json:"by"`
	At time.Time `json:"at"`
}

func approvalViews(as []store.Approval) []approvalView {
	out := make([]approvalView, len(as))
	for i, a := range as {
		out[i] = approvalView{By: a.ApproverEmail, At: a.At}
	}
	return out
}

// extensionView is a request for more time.
type extensionView struct {
	N                int            `json:"n"`
	Duration         string         `json:"duration"` // a Go duration, as asked for
	Reason           string         `json:"reason"`
	RequestedBy      string         `json:"requested_by"`
	RequestedAt      time.Time      `json:"requested_at"`
	ApprovalDeadline time.Time      `json:"approval_deadline"`
	State            string         `json:"state"`
	DecidedBy        string         `json:"decided_by,omitempty"`
	DecidedAt        *time.Time     `json:"decided_at,omitempty"`
	EndsBefore       time.Time      `json:"access_ends_before"`
	EndsAfter        *time.Time     `json:"access_ends_after,omitempty"`
	Approvals        []approvalView `json:"approvals"`
}

func newExtensionView(e store.Extension, approvals []store.Approval) extensionView {
	return extensionView{N: e.N, Duration: e.Duration, Reason: e.Reason, RequestedBy: e.RequestedBy, RequestedAt: e.RequestedAt,
		ApprovalDeadline: e.ApprovalDeadline, State: e.State, DecidedBy: e.DecidedBy, DecidedAt: e.DecidedAt,
		EndsBefore: e.EndsBefore, EndsAfter: e.EndsAfter, Approvals: approvalViews(service.ApprovalsOfRequest(approvals, e.N))}
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

func newEmailView(e store.Email) emailView {
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
	return v
}

func newAssignmentDetailView(d service.AssignmentDetail) assignmentDetailView {
	v := assignmentDetailView{assignmentView: newAssignmentView(d.Assignment),
		Approvals: approvalViews(service.ApprovalsOfRequest(d.Approvals, 0)), Emails: mapViews(d.Emails, newEmailView)}
	v.Extensions = make([]extensionView, len(d.Extensions))
	for i, e := range d.Extensions {
		v.Extensions[i] = newExtensionView(e, d.Approvals)
	}
	if p := d.RevocationPending; p != nil {
		v.RevocationPending = &revocationPendingView{Since: p.Since, Attempts: p.Attempts, LastError: p.LastError}
	}
	return v
}

// mailView is a message of the dev mailbox.
type mailView struct {
	AssignmentID string    `json:"assignment_id"`
	Kind         string    `json:"kind"`
	To           string    `json:"to"`
	From         string    `json:"from"`
	Subject      string    `json:"subject"`
	Text         string    `json:"text,omitempty"`
	Status       string    `json:"status"`
	Error        string    `json:"error,omitempty"`
	Attempts     int       `json:"attempts"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

func newMailView(e store.Email) mailView {
	return mailView{AssignmentID: e.AssignmentID, Kind: e.Kind, To: e.To, From: e.From, Subject: e.Subject, Text: e.Text,
		Status: e.Status, Error: e.Error, Attempts: e.Attempts, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
}

// auditView is an entry of the audit log.
type auditView struct {
	ID           int64     `json:"id"`
	At           time.Time `json:"at"`
	ActorID      string    `json:"actor_id"`
	Action       string    `json:"action"`
	Outcome      string    `json:"outcome"`
	AssignmentID string    `json:"assignment_id,omitempty"`
	SiteID       string    `json:"site_id,omitempty"`
	CustomerID   string    `json:"customer_id,omitempty"`
	PartnerID    string    `json:"partner_id,omitempty"`
	Detail       string    `json:"detail,omitempty"`
	Via          string    `json:"via,omitempty"`
}

func newAuditView(e store.AuditEntry) auditView {
	return auditView{ID: e.ID, At: e.At, ActorID: e.ActorID, Action: string(e.Action), Outcome: e.Outcome, AssignmentID: e.AssignmentID,
		SiteID: e.SiteID, CustomerID: e.CustomerID, PartnerID: e.PartnerID, Detail: e.Detail, Via: e.Via}
}

// userView is a user.
type userView struct {
	ID         string   `json:"id"`
	Email      string   `json:"email"`
	Name       string   `json:"name"`
	Kind       string   `json:"kind"`
	PartnerID  string   `json:"partner_id"`
	CustomerID string   `json:"customer_id"`
	Roles      []string `json:"roles"`
	Status     string   `json:"status"`
}

func newUserView(u store.User) userView {
	return userView{ID: u.ID, Email: u.Email, Name: u.Name, Kind: u.Kind, PartnerID: u.PartnerID, CustomerID: u.CustomerID,
		Roles: u.Roles, Status: u.Status}
}

// managedUserView is a user as its administrators see it, with the open
// invitation of a user who has not registered.
type managedUserView struct {
	userView
	RegisteredAt    *time.Time      `json:"registered_at"`
	StatusChangedAt *time.Time      `json:"status_changed_at"`
	InvitedBy       string          `json:"invited_by"`
	Invitation      *invitationView `json:"invitation,omitempty"`
}

type invitationView struct {
	SentAt    time.Time `json:"sent_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

func newManagedUserView(m service.ManagedUser) managedUserView {
	v := managedUserView{userView: newUserView(m.User), RegisteredAt: m.RegisteredAt, StatusChangedAt: m.StatusChangedAt, InvitedBy: m.InvitedBy}
	if inv := m.Invitation; inv != nil {
		v.Invitation = &invitationView{SentAt: inv.CreatedAt, ExpiresAt: inv.ExpiresAt}
	}
	return v
}

// siteView is a site on the dashboard.
type siteView struct {
	ID              string `json:"id"`
	Name            string `json:"name"`
	Edition         string `json:"edition"`
	CustomerID      string `json:"customer_id"`
	CustomerName    string `json:"customer_name"`
	Permission      bool   `json:"permission"`
	OpenAssignments int    `json:"open_assignments"`
}

func newSiteView(site store.Site) siteView {
	return siteView{ID: site.ID, Name: site.Name, Edition: site.Edition, CustomerID: site.CustomerID,
		CustomerName: site.CustomerName, Permission: site.Permitted, OpenAssignments: site.OpenAssignments}
}

// siteDetailView is GET /api/v1/sites/{site}.
type siteDetailView struct {
	siteView
	AssignableUsers []assignableView `json:"assignable_users"`
	Assignments     []assignmentView `json:"assignments"`
	// Policy is the customer's policy in force at the site (R10).
	Policy policyView `json:"policy"`
}

type assignableView struct {
	ID     string   `json:"id"`
	Email  string   `json:"email"`
	Name   string   `json:"name"`
	Roles  []string `json:"roles"`
	Status string   `json:"status"`
}

func newSiteDetailView(d service.SiteDetail) siteDetailView {
	return siteDetailView{siteView: newSiteView(d.Site),
		AssignableUsers: mapViews(d.Assignable, func(u store.User) assignableView {
			return assignableView{ID: u.ID, Email: u.Email, Name: u.Name, Roles: u.Roles, Status: u.Status}
		}),
		Assignments: assignmentViews(d.Assignments), Policy: newPolicyView(d.Policy, d.PolicyWords)}
}

// mapViews maps rows to views; never nil, so a list is [] rather than null.
func mapViews[T, V any](xs []T, f func(T) V) []V {
	out := make([]V, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}

// isGateway reports whether the caller sent the gateway token.
func (s *Server) isGateway(c *gin.Context) bool { return tokenIs(c, s.cfg.GatewayToken) }

// tokenIs reports whether the caller sent token as its bearer token; never
// for an empty token.
func tokenIs(c *gin.Context, token string) bool {
	got, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	return token != "" && ok && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
