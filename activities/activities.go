// Package activities holds the side effects of the assignment workflow: the
// projection and audit log in the store, emails, and access changes. Each
// method is idempotent, so Temporal may retry it freely.
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

	"github.com/partneraccess/partneraccess/internal/access"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/mail"
	"github.com/partneraccess/partneraccess/internal/outbox"
	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/target"
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
}

// Activities are the workflow's side effects, with their dependencies injected.
type Activities struct {
	Store       *store.Store
	Mail        mail.Sender // nil: emails stay, bodies included, in the store's mailbox
	Provisioner access.Provisioner
	Keys        *secret.Keys
	Config      Config
	// Workflows lets the reconciler find assignment workflows (nil: it
	// refuses to run); Reconciled counts each grant it revokes (may be nil).
	Workflows  WorkflowLookup
	Reconciled func()
	// Directories change access in customers' directories, by kind of
	// target (TargetEntra, TargetLDAP); a customer whose kind has none fails
	// activation.
	Directories map[string]target.Directory
	// Drifted counts a drift repaired, by kind of target and of drift (may
	// be nil).
	Drifted func(target, kind string)
}

// New wires the activities with the default provisioner; a nil sender keeps
// emails in the local mailbox.
func New(st *store.Store, sender mail.Sender, keys *secret.Keys, cfg Config) *Activities {
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
	if err := a.Store.ApplyTransition(ctx, t.row()); err != nil {
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
		PreviousEndsAt: d.PreviousEndsAt, Remaining: d.Remaining, ActiveFor: d.ActiveFor,
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

// GrantInput activates access.
type GrantInput struct {
	AssignmentID string
	SiteID       string
	UserID       string
	At           time.Time
	Until        *time.Time // nil: until unassigned (Professional)
}

// Activate gives the partner user access to the site.
// It refuses an assignment the store holds as ended or as another's.
func (a *Activities) Activate(ctx context.Context, in GrantInput) error {
	if err := a.justifyGrant(ctx, "activation", claim{assignmentID: in.AssignmentID, siteID: in.SiteID, userID: in.UserID}); err != nil {
		return err
	}
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
// It refuses an assignment the store holds as ended.
func (a *Activities) IssueCredential(ctx context.Context, in CredentialInput) error {
	if err := a.justifyGrant(ctx, "credential", claim{assignmentID: in.AssignmentID}); err != nil {
		return err
	}
	return a.Provisioner.IssueCredential(ctx, in.AssignmentID, in.Login, in.At)
}

// Transition is one recorded step of the workflow. It is the workflow's
// payload, mapped to the store's row here, so a change to the schema never
// changes what is in a workflow's history.
type Transition struct {
	AssignmentID     string
	Seq              int
	State            string
	At               time.Time
	Actor            string
	Action           string
	Detail           string
	ApprovalDeadline *time.Time
	DecidedBy        string
	Decision         string
	// DecisionSignal is the voucher ID of the approval signal that decided
	// (empty in runs recorded before it existed).
	DecisionSignal string `json:",omitempty"`
	ActivatedAt    *time.Time
	AccessEndsAt   *time.Time
	EndedBy        string
	EndReason      string
	Failure        string
}

func (t Transition) row() store.Transition {
	return store.Transition{
		AssignmentID: t.AssignmentID, Seq: t.Seq, State: t.State, At: t.At, Actor: t.Actor, Action: t.Action,
		Detail: t.Detail, ApprovalDeadline: t.ApprovalDeadline, DecidedBy: t.DecidedBy, Decision: t.Decision,
		DecisionSignal: t.DecisionSignal, ActivatedAt: t.ActivatedAt, AccessEndsAt: t.AccessEndsAt,
		EndedBy: t.EndedBy, EndReason: t.EndReason, Failure: t.Failure,
	}
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

// SignalCheck asks whether a signal is one a server vouched for and, for a
// decision, whether it may still count (R1, R4). The workflow runs it as a
// local activity, so replay never needs the key.
type SignalCheck struct {
	AssignmentID string
	CustomerID   string
	PartnerID    string
	ByID         string
	Fields       []string // what the server signed, in order
	MAC          string
	Decision     bool
}

// SignalVerdict is the answer to a SignalCheck.
type SignalVerdict struct {
	OK     bool
	Forged bool
	Why    string
	// Target is the kind of the customer's access target, read by
	// CheckStart (empty in runs recorded before it).
	Target string `json:",omitempty"`
}

// CheckSignal verifies the server's MAC and, for a decision, that the decider
// is still an active approver of the customer and the permission stands.
func (a *Activities) CheckSignal(ctx context.Context, in SignalCheck) (SignalVerdict, error) {
	if in.MAC == "" || !a.Keys.VerifySignal(in.MAC, in.Fields...) {
		return SignalVerdict{Forged: true, Why: "the signal was not sent by a Partner Access server (no valid signature); it was ignored"}, nil
	}
	if !in.Decision {
		return SignalVerdict{OK: true}, nil
	}
	u, err := a.Store.UserByID(ctx, in.ByID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return SignalVerdict{}, err
	}
	if err != nil || u.CustomerID != in.CustomerID || !u.IsApprover() {
		return SignalVerdict{Why: "the decider is no longer an active approver of this customer"}, nil
	}
	permitted, err := a.Store.PartnerPermitted(ctx, in.CustomerID, in.PartnerID)
	if err != nil {
		return SignalVerdict{}, err
	}
	if !permitted {
		return SignalVerdict{Why: "the customer has withdrawn the partner's permission"}, nil
	}
	return SignalVerdict{OK: true}, nil
}

// SignalRecord is a signal the workflow did not act on.
type SignalRecord struct {
	AssignmentID string
	Seq          int // the workflow's count of signals: the audit entry's key
	Signal       string
	ByID         string
	Forged       bool
	Detail       string
	At           time.Time
}

// RecordSignal writes a signal the workflow ignored to the audit log, once.
func (a *Activities) RecordSignal(ctx context.Context, in SignalRecord) error {
	action := in.Signal + ".refused"
	if in.Forged {
		action = "signal.forged"
	}
	key := fmt.Sprintf("signal/%s/%d", in.AssignmentID, in.Seq)
	return a.Store.Audit(ctx, store.AuditEntry{At: in.At, ActorID: in.ByID, Action: action, Outcome: store.OutcomeRefused,
		AssignmentID: in.AssignmentID, Detail: in.Detail, EventKey: &key})
}

// StartCheck asks whether a run was started by a Partner Access server, and
// whether what it claims still holds in the store: the site, its customer,
// partner and edition, the permission (R1), the partner user (R2) and the
// approvers (R4). The workflow runs it as a local activity first, so a
// start made straight on the Temporal frontend grants nothing.
type StartCheck struct {
	Fields []string // what the server signed, in order
	MAC    string
	// WorkflowID, RunID and VouchID name the start's record, which the
	// check consumes for this run (empty in runs recorded before it).
	WorkflowID    string `json:",omitempty"`
	RunID         string `json:",omitempty"`
	VouchID       string `json:",omitempty"`
	SiteID        string
	CustomerID    string
	PartnerID     string
	Edition       string
	PartnerUserID string
	ApproverIDs   []string
}

// CheckStart answers a StartCheck; OK false says why in Why.
// The start's record is consumed first: a replayed start, or a run reset
// to before this check, is refused whatever the store says of its claims.
func (a *Activities) CheckStart(ctx context.Context, in StartCheck) (SignalVerdict, error) {
	why, err := a.checkVouch(ctx, VouchCheck{Kind: VouchAssignment, WorkflowID: in.WorkflowID, RunID: in.RunID, VouchID: in.VouchID,
		Grants: AssignmentGrants(in.SiteID, in.PartnerUserID, in.Edition), Fields: in.Fields, MAC: in.MAC})
	if err != nil || why != "" {
		return SignalVerdict{Forged: true, Why: why}, err
	}
	f, err := a.Store.AssignFacts(ctx, in.SiteID, in.PartnerUserID)
	if errors.Is(err, store.ErrNotFound) {
		return SignalVerdict{Why: "the site does not exist"}, nil
	} else if err != nil {
		return SignalVerdict{}, err
	}
	u := f.User
	switch {
	case f.Site.CustomerID != in.CustomerID || f.Site.PartnerID != in.PartnerID || f.Site.Edition != in.Edition:
		return SignalVerdict{Why: "the site's customer, partner or edition is not what the start claims"}, nil
	case !f.Site.Permitted:
		return SignalVerdict{Why: "the customer has not given the partner permission (R1)"}, nil
	case !f.UserFound || u.Kind != store.KindPartner || u.PartnerID != in.PartnerID || u.Status != store.StatusActive || u.RegisteredAt == nil:
		return SignalVerdict{Why: "the partner user is not an active user of the partner (R2)"}, nil
	}
	if len(in.ApproverIDs) > 0 {
		users, err := a.Store.CustomerUsers(ctx, in.CustomerID)
		if err != nil {
			return SignalVerdict{}, err
		}
		approvers := map[string]bool{}
		for _, c := range users {
			approvers[c.ID] = c.IsApprover()
		}
		for _, id := range in.ApproverIDs {
			if !approvers[id] {
				return SignalVerdict{Why: "an approver of the start is not an active approver of the customer (R4)"}, nil
			}
		}
	} else if in.Edition == domain.EditionStandard {
		return SignalVerdict{Why: "a Standard start names no approver (R4)"}, nil
	}
	t, err := a.Store.CustomerTarget(ctx, in.CustomerID)
	if err != nil {
		return SignalVerdict{}, err
	}
	return SignalVerdict{OK: true, Target: t.Kind}, nil
}

// StartRefusal is a start CheckStart refused.
type StartRefusal struct {
	BeginInput
	Why   string
	RunID string `json:",omitempty"`
}

// RefuseStart records a refused start: the assignment as failed where its
// site and user exist (so the people concerned see it), and start.forged in
// the audit log. It grants nothing.
//
// A run reset to before its check, or a start replayed under the first
// run's ID, finds its assignment recorded: that record stays as it is, and
// only the refusal is added to its audit log.
func (a *Activities) RefuseStart(ctx context.Context, in StartRefusal) error {
	if prev, err := a.Store.AssignmentByID(ctx, in.AssignmentID); err == nil && prev.Seq > 0 {
		return a.auditForged(ctx, "start.forged", prev.ID, in.Why, "forged/start/"+in.AssignmentID+"/"+in.RunID)
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	err := a.Store.CreateAssignment(ctx, store.Assignment{
		ID: in.AssignmentID, WorkflowID: in.WorkflowID, SiteID: in.SiteID, PartnerUserID: in.PartnerUserID,
		Role: in.Role, Reason: in.Reason, Edition: in.Edition, RequestedBy: in.RequestedBy, RequestedAt: in.RequestedAt,
	})
	if err == nil {
		return a.Store.ApplyTransition(ctx, store.Transition{AssignmentID: in.AssignmentID, Seq: 1, State: domain.StateFailed,
			At: in.RequestedAt, Actor: "system", Action: "start.forged", Detail: in.Why, Failure: in.Why})
	}
	// No such site or user to hang a row on: the audit log keeps it.
	site, _ := a.Store.SiteByID(ctx, in.SiteID)
	return a.Store.Audit(ctx, store.AuditEntry{At: in.RequestedAt, ActorID: "system", Action: "start.forged", Outcome: store.OutcomeRefused,
		SiteID: site.ID, CustomerID: site.CustomerID, PartnerID: site.PartnerID,
		Detail: fmt.Sprintf("%s (workflow %s, site %q, user %q)", in.Why, in.WorkflowID, in.SiteID, in.PartnerUserID)})
}
