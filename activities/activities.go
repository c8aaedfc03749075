// Package activities holds the side effects of the assignment workflow: the
// projection and audit log in the store, emails, and access changes. Each
// method is idempotent, so Temporal may retry it freely.
package activities

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/partneraccess/partneraccess/internal/access"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/mail"
	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/internal/store"
)

// ErrTypeEmailRejected is the application error type of an email the
// provider refused for good (e.g. SendGrid 400); it is not retried.
const ErrTypeEmailRejected = "EmailRejected"

// Config is what the activities need from the service configuration.
type Config struct {
	PublicURL      string       // base of links in emails
	MailFrom       mail.Address // sender of every email but the AVD instructions
	AVDMailFrom    mail.Address // the no-reply sender of the AVD instructions (R5)
	AVDDownloadURL string
	// LocalMailbox keeps emails, bodies included, in the store for /dev/mail
	// instead of sending them (set by New when there is no sender).
	LocalMailbox bool
}

// Activities are the workflow's side effects, with their dependencies injected.
type Activities struct {
	Store       *store.Store
	Mail        mail.Sender // unused when Config.LocalMailbox
	Provisioner access.Provisioner
	Keys        *secret.Keys
	Config      Config
}

// New wires the activities with the default provisioner; a nil sender keeps
// emails in the local mailbox.
func New(st *store.Store, sender mail.Sender, keys *secret.Keys, cfg Config) *Activities {
	cfg.LocalMailbox = sender == nil
	return &Activities{Store: st, Mail: sender, Provisioner: &access.StoreProvisioner{Store: st, Keys: keys}, Keys: keys, Config: cfg}
}

// BeginInput records a new assignment.
type BeginInput struct {
	AssignmentID     string
	WorkflowID       string
	SiteID           string
	PartnerUserID    string
	Role             string
	Reason           string
	Edition          string
	RequestedBy      string
	RequestedAt      time.Time
	State            string // the state after requested: pending_approval or provisioning
	ApprovalDeadline *time.Time
	ApproverIDs      []string
	Detail           string
}

// Begin records the assignment in the store (the server may have done so
// already), its first transition, and the approval tokens of each approver.
func (a *Activities) Begin(ctx context.Context, in BeginInput) error {
	if err := a.Store.CreateAssignment(ctx, store.Assignment{
		ID: in.AssignmentID, WorkflowID: in.WorkflowID, SiteID: in.SiteID, PartnerUserID: in.PartnerUserID,
		Role: in.Role, Reason: in.Reason, Edition: in.Edition, RequestedBy: in.RequestedBy, RequestedAt: in.RequestedAt,
	}); err != nil {
		return err
	}
	if len(in.ApproverIDs) > 0 {
		tokens := make([]store.ApprovalToken, len(in.ApproverIDs))
		for i, id := range in.ApproverIDs {
			tokens[i] = store.ApprovalToken{
				Hash:         secret.HashToken(a.Keys.ApprovalToken(in.AssignmentID, id)),
				AssignmentID: in.AssignmentID, ApproverID: id, ExpiresAt: *in.ApprovalDeadline,
			}
		}
		if err := a.Store.PutApprovalTokens(ctx, tokens); err != nil {
			return err
		}
	}
	return a.Store.ApplyTransition(ctx, store.Transition{
		AssignmentID: in.AssignmentID, Seq: 1, State: in.State, At: in.RequestedAt,
		Actor: in.RequestedBy, Action: "assignment.requested", Detail: in.Detail,
		ApprovalDeadline: in.ApprovalDeadline,
	})
}

// Record applies a transition to the projection and the audit log. Once a
// request is decided or the assignment has ended, its approval links stop working.
func (a *Activities) Record(ctx context.Context, t Transition) error {
	if err := a.Store.ApplyTransition(ctx, t); err != nil {
		return err
	}
	if t.Decision != "" || !domain.OpenState(t.State) {
		return a.Store.VoidApprovalTokens(ctx, t.AssignmentID, t.At)
	}
	return nil
}

// Recipient is who an email goes to.
type Recipient struct {
	ID    string
	Name  string
	Email string
}

// EmailRequest asks for one email. The activity adds the links, so approval
// tokens never appear in workflow history.
type EmailRequest struct {
	AssignmentID string
	Kind         mail.Kind
	To           Recipient
	Data         mail.Data
}

// EmailKey is the idempotency key of an email: (assignment, kind, recipient).
func EmailKey(assignmentID string, kind mail.Kind, to string) string {
	return assignmentID + "/" + string(kind) + "/" + strings.ToLower(to)
}

// SendEmail renders and sends one email once. A retry after success does
// nothing; a provider's permanent refusal is recorded and not retried.
func (a *Activities) SendEmail(ctx context.Context, r EmailRequest) error {
	key := EmailKey(r.AssignmentID, r.Kind, r.To.Email)
	prev, err := a.Store.EmailByKey(ctx, key)
	switch {
	case err == nil && (prev.Status == store.EmailSent || prev.Status == store.EmailLocal):
		return nil
	case err == nil && prev.Status == store.EmailFailed:
		return rejected(r, errors.New(prev.Error))
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return err
	}

	d := r.Data
	d.RecipientName = r.To.Name
	d.AssignmentURL = a.link("assignments", r.AssignmentID)
	switch r.Kind {
	case mail.KindApprovalRequest, mail.KindApprovalReminder:
		d.ApprovalURL = a.link("approvals", a.Keys.ApprovalToken(r.AssignmentID, r.To.ID))
	case mail.KindCredentialLink:
		d.CredentialURL = a.link("credentials", r.AssignmentID)
	case mail.KindAVDInstructions:
		d.AVDDownloadURL = a.Config.AVDDownloadURL
	}
	body, err := mail.Render(r.Kind, d)
	if err != nil {
		return temporal.NewNonRetryableApplicationError("render email", "RenderFailed", err)
	}
	from := a.Config.MailFrom
	if r.Kind == mail.KindAVDInstructions {
		from = a.Config.AVDMailFrom
	}
	rec := store.Email{
		Key: key, AssignmentID: r.AssignmentID, Kind: string(r.Kind), To: r.To.Email, From: from.Email,
		Subject: body.Subject, UpdatedAt: time.Now(),
	}
	if a.Config.LocalMailbox {
		rec.Status, rec.Text, rec.HTML = store.EmailLocal, body.Text, body.HTML
		return a.Store.RecordEmail(ctx, rec)
	}

	rec.Status = store.EmailSending
	if err := a.Store.RecordEmail(ctx, rec); err != nil {
		return err
	}
	id, sendErr := a.Mail.Send(ctx, mail.Message{
		Kind: r.Kind, From: from, To: mail.Address{Name: r.To.Name, Email: r.To.Email},
		Subject: body.Subject, Text: body.Text, HTML: body.HTML, Key: key,
	})
	rec.UpdatedAt = time.Now()
	switch {
	case sendErr == nil:
		rec.Status, rec.ProviderID = store.EmailSent, id
	case mail.IsPermanent(sendErr):
		rec.Status, rec.Error = store.EmailFailed, sendErr.Error()
	default:
		rec.Error = sendErr.Error()
	}
	if err := a.Store.RecordEmail(ctx, rec); err != nil {
		return err
	}
	if rec.Status == store.EmailFailed {
		return rejected(r, sendErr)
	}
	if sendErr != nil {
		activity.GetLogger(ctx).Warn("email not sent; will retry", "kind", r.Kind, "assignment", r.AssignmentID, "error", sendErr)
	}
	return sendErr
}

func rejected(r EmailRequest, err error) error {
	return temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("%s email to %s was refused: %v", r.Kind, r.To.Email, err), ErrTypeEmailRejected, err)
}

func (a *Activities) link(kind, id string) string {
	return strings.TrimRight(a.Config.PublicURL, "/") + "/" + kind + "/" + url.PathEscape(id)
}

// GrantInput activates access.
type GrantInput struct {
	AssignmentID string
	SiteID       string
	UserID       string
	At           time.Time
	Until        *time.Time // nil: until unassigned (Professional)
}

// Activate gives the partner user access to the site.
func (a *Activities) Activate(ctx context.Context, in GrantInput) error {
	return a.Provisioner.Activate(ctx, store.Grant{
		AssignmentID: in.AssignmentID, SiteID: in.SiteID, UserID: in.UserID, GrantedAt: in.At, ExpiresAt: in.Until,
	})
}

// RevokeInput ends access.
type RevokeInput struct {
	AssignmentID string
	At           time.Time
}

// Revoke removes access and then checks that it is really gone (proof of
// revocation); if not, it fails so that Temporal retries it.
func (a *Activities) Revoke(ctx context.Context, in RevokeInput) error {
	if err := a.Provisioner.Revoke(ctx, in.AssignmentID, in.At); err != nil {
		return err
	}
	still, err := a.Provisioner.HasAccess(ctx, in.AssignmentID, in.At)
	if err != nil {
		return err
	}
	if still {
		return fmt.Errorf("access of assignment %s still in force after revocation", in.AssignmentID)
	}
	return nil
}

// CredentialInput issues a Professional temporary credential.
type CredentialInput struct {
	AssignmentID string
	Login        string
	At           time.Time
}

// IssueCredential creates the temporary directory password (once).
func (a *Activities) IssueCredential(ctx context.Context, in CredentialInput) error {
	return a.Provisioner.IssueCredential(ctx, in.AssignmentID, in.Login, in.At)
}

// Transition is one recorded step of the workflow.
type Transition = store.Transition
