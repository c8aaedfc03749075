package activities

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/mail"
	"github.com/partneraccess/partneraccess/internal/outbox"
	"github.com/partneraccess/partneraccess/internal/store"
)

// The emails: what the workflow asks for, the links added here (so no
// token enters history), and one send per (assignment, kind, recipient).

// ErrTypeEmailRejected is the application error type of an email the
// provider refused for good (e.g. SendGrid 400); it is not retried.
const ErrTypeEmailRejected = "EmailRejected"

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
	Kind         domain.EmailKind
	To           Recipient
	Data         EmailData
	// Round tells apart emails of a kind that one recipient gets more than
	// once (the extension request it is about, the nth reminder); 0 for
	// the first or only one, as before it existed.
	Round int `json:",omitempty"`
}

// EmailData is what the workflow knows for an email; the activity maps it to
// the templates' model, so a template change never changes history.
type EmailData struct {
	PartnerName      string
	PartnerUserName  string
	PartnerUserEmail string
	CustomerName     string
	SiteName         string
	Edition          string // "Standard" or "Professional"
	Role             string
	Reason           string // in every email (R9)
	Decision         string // "approved" or "denied"
	DecidedBy        string
	AccessEndsAt     time.Time // zero: no end (Professional)
	ApprovalDeadline time.Time
	EndedBy          string
	EndReason        string
	ReadyAfter       time.Duration
	FailedRecipient  string
	FailureReason    string
	// Extension is the extension request an email is about (its number);
	// the other fields describe it. Zero values for every other email.
	Extension            int           `json:",omitempty"`
	ExtensionDuration    time.Duration `json:",omitempty"`
	ExtensionReason      string        `json:",omitempty"`
	ExtensionRequestedBy string        `json:",omitempty"`
	PreviousEndsAt       time.Time     `json:",omitzero"`
	Remaining            time.Duration `json:",omitempty"` // expiry warning: access left
	ActiveFor            time.Duration `json:",omitempty"` // Professional reminder: access so far
	// Approvals is the progress of a request that needs several (R10):
	// "1 of 2 approvals: Casey Contoso"; StartsAt when scheduled access
	// starts.
	Approvals string    `json:",omitempty"`
	StartsAt  time.Time `json:",omitzero"`
}

// templateData maps the request to the templates' model, links included.
func (a *Activities) templateData(r EmailRequest) mail.Data {
	d := r.Data
	m := mail.Data{
		RecipientName: r.To.Name, PartnerName: d.PartnerName, PartnerUserName: d.PartnerUserName,
		PartnerUserEmail: d.PartnerUserEmail, CustomerName: d.CustomerName, SiteName: d.SiteName, Edition: d.Edition,
		Role: d.Role, Reason: d.Reason, Decision: d.Decision, DecidedBy: d.DecidedBy, AccessEndsAt: d.AccessEndsAt,
		ApprovalDeadline: d.ApprovalDeadline, EndedBy: d.EndedBy, EndReason: domain.HumanEndReason(d.EndReason), ReadyAfter: d.ReadyAfter,
		FailedRecipient: d.FailedRecipient, FailureReason: d.FailureReason,
		ExtensionDuration: d.ExtensionDuration, ExtensionReason: d.ExtensionReason, ExtensionRequestedBy: d.ExtensionRequestedBy,
		PreviousEndsAt: d.PreviousEndsAt, Remaining: d.Remaining, ActiveFor: d.ActiveFor, Approvals: d.Approvals, StartsAt: d.StartsAt,
		AssignmentURL: a.link("assignments", r.AssignmentID),
		ForRequester:  !strings.EqualFold(r.To.Email, d.PartnerUserEmail),
		ReaderDecided: d.DecidedBy != "" && strings.EqualFold(r.To.Email, d.DecidedBy),
	}
	switch r.Kind {
	case domain.EmailApprovalRequest, domain.EmailApprovalReminder:
		m.ApprovalURL = a.link("approvals", a.Keys.ApprovalToken(r.AssignmentID, r.To.ID))
	case domain.EmailExtensionRequest:
		m.ApprovalURL = a.link("approvals", a.Keys.ApprovalToken(ApprovalSubject(r.AssignmentID, d.Extension), r.To.ID))
	case domain.EmailCredentialLink:
		m.CredentialURL = a.link("credentials", r.AssignmentID)
	case domain.EmailAVDInstructions:
		m.AVDDownloadURL = a.Config.AVDDownloadURL
	}
	return m
}

// linkSubject is what an email's approval link is bound to, when it has one.
func linkSubject(r EmailRequest) (subject string, extension int, ok bool) {
	switch r.Kind {
	case domain.EmailApprovalRequest, domain.EmailApprovalReminder:
		return r.AssignmentID, 0, true
	case domain.EmailExtensionRequest:
		return ApprovalSubject(r.AssignmentID, r.Data.Extension), r.Data.Extension, true
	}
	return "", 0, false
}

// EmailKey is the idempotency key of an email: (assignment, kind,
// recipient), and its round when there is more than one.
func EmailKey(assignmentID string, kind domain.EmailKind, to string, round int) string {
	key := assignmentID + "/" + string(kind) + "/" + strings.ToLower(to)
	if round > 0 {
		key += "/" + strconv.Itoa(round)
	}
	return key
}

// ApprovalSubject is what an approver's token is bound to: the assignment
// for its first request, or one of its extension requests.
func ApprovalSubject(assignmentID string, extension int) string {
	if extension == 0 {
		return assignmentID
	}
	return assignmentID + "/extension/" + strconv.Itoa(extension)
}

// SendEmail renders and sends one email once. A retry after success does
// nothing; a provider's permanent refusal is recorded and not retried.
func (a *Activities) SendEmail(ctx context.Context, r EmailRequest) error {
	key := EmailKey(r.AssignmentID, r.Kind, r.To.Email, r.Round)
	prev, err := a.Store.EmailByKey(ctx, key)
	switch {
	case err == nil && (prev.Status == store.EmailSent || prev.Status == store.EmailLocal):
		return nil
	case err == nil && prev.Status == store.EmailFailed:
		return rejected(r, errors.New(prev.Error))
	case err == nil && prev.Status == store.EmailSending && prev.Error == "" && time.Since(prev.UpdatedAt) < outbox.Lease:
		// Another attempt is sending it now (an ended assignment hands its
		// emails over while one may be in flight): wait for its outcome.
		return fmt.Errorf("%s email to %s is being sent by another attempt", r.Kind, r.To.Email)
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return err
	}

	if subject, extension, ok := linkSubject(r); ok {
		to, none, err := a.linkRecipient(ctx, r, subject, extension)
		if err != nil || none {
			return err
		}
		r.To = to
	}
	body, err := mail.Render(r.Kind, a.templateData(r))
	if err != nil {
		return temporal.NewNonRetryableApplicationError("render email", "RenderFailed", err)
	}
	from := a.Config.MailFrom
	if r.Kind == domain.EmailAVDInstructions {
		from = a.Config.AVDMailFrom
	}
	rec, sendErr, err := outbox.Outbox{Store: a.Store, Sender: a.Mail}.Send(ctx, mail.Message{
		Kind: r.Kind, From: from, To: mail.Address{Name: r.To.Name, Email: r.To.Email},
		Subject: body.Subject, Text: body.Text, HTML: body.HTML, Key: key,
	}, r.AssignmentID)
	if errors.Is(err, outbox.ErrBusy) {
		return fmt.Errorf("%s email to %s is being sent by another attempt", r.Kind, r.To.Email)
	} else if err != nil {
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

// EmailFailure is an email given up after its retry window.
type EmailFailure struct {
	AssignmentID string
	Kind         domain.EmailKind
	To           string
	Round        int `json:",omitempty"`
	Reason       string
	At           time.Time
}

// GiveUpEmail records on the assignment that an email was never delivered,
// so the failure is visible instead of the email retrying for ever.
func (a *Activities) GiveUpEmail(ctx context.Context, in EmailFailure) error {
	return a.Store.GiveUpEmail(ctx, store.Email{
		Key: EmailKey(in.AssignmentID, in.Kind, in.To, in.Round), AssignmentID: in.AssignmentID, Kind: string(in.Kind),
		To: in.To, Error: in.Reason, UpdatedAt: in.At,
	})
}
