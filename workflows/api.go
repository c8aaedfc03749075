// Package workflows holds the assignment workflow: one durable Temporal
// workflow per assignment of a partner user to a customer site (docs/workflow.md).
package workflows

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/partneraccess/partneraccess/activities"
	"github.com/partneraccess/partneraccess/internal/domain"
)

// Names shared by the server (which starts, signals and queries) and the workflow.
const (
	WorkflowName   = "Assignment"
	SignalApproval = "approval"
	SignalUnassign = "unassign"
	// SignalExtension asks for more Standard access (since versionExtension).
	SignalExtension = "extension"
	QueryStatus     = "status"
	// QuerySignal answers what became of one signal, by its Vouch.ID. Its
	// name sorts after "status", so the Temporal UI opens on the status.
	QuerySignal = "vouched_signal"
	// EmailsWorkflowName delivers the emails an ended assignment still owes.
	EmailsWorkflowName = "AssignmentEmails"
)

// Why an assignment was ended by someone other than a person unassigning it.
const (
	CausePermissionWithdrawn = "permission_withdrawn"
	CauseUserSuspended       = "user_suspended"
)

// What the Temporal UI shows beside each signal and query.
var (
	signalDescriptions = map[string]string{
		SignalApproval:  "An approver's decision (R4) on the request, or on extension request Extension; sent by a Partner Access server, which signs it (a signal without a valid signature changes nothing).",
		SignalUnassign:  "Ends the assignment (R7): withdraws a pending request, revokes access at once. Sent by a Partner Access server; from Temporal itself, use Request Cancellation.",
		SignalExtension: "Asks for more Standard access while it lasts (R4); approvers decide it like the first request. Sent by a Partner Access server.",
	}
	queryDescriptions = map[string]string{
		QueryStatus: "Where the assignment stands: state, deadline, decision, when access started and ends, who ended it and why, extension requests. Takes no argument.",
		QuerySignal: "What became of one vouched signal, by its voucher ID (the server asks it after sending one): taken, or refused and why.",
	}
)

// Custom search attributes that make assignments filterable in the Temporal UI.
var (
	AttrSite        = temporal.NewSearchAttributeKeyKeyword("PartnerAccessSite")
	AttrCustomer    = temporal.NewSearchAttributeKeyKeyword("PartnerAccessCustomer")
	AttrPartnerUser = temporal.NewSearchAttributeKeyKeyword("PartnerAccessPartnerUser")
	AttrEdition     = temporal.NewSearchAttributeKeyKeyword("PartnerAccessEdition")
	AttrStatus      = temporal.NewSearchAttributeKeyKeyword("PartnerAccessStatus")
)

// SearchAttributeNames lists the custom search attributes to register (all Keyword).
func SearchAttributeNames() []string {
	return []string{AttrSite.GetName(), AttrCustomer.GetName(), AttrPartnerUser.GetName(),
		AttrEdition.GetName(), AttrStatus.GetName()}
}

// WorkflowID is derived from the site and the partner user, so a second
// start while one is open finds it (R8).
func WorkflowID(siteID, partnerUserID string) string {
	return "assignment/" + siteID + "/" + partnerUserID
}

// FirstState is the state an assignment of the edition is in once recorded.
func FirstState(edition string) string {
	if edition == domain.EditionProfessional {
		return domain.StateProvisioning
	}
	return domain.StatePendingApproval
}

// Person is someone the workflow deals with.
type Person struct {
	ID    string
	Name  string
	Email string
}

// Timing holds the configured durations, fixed for an assignment when it starts.
type Timing struct {
	ApprovalTimeout  time.Duration // how long approvers have to decide
	ApprovalReminder time.Duration // a reminder goes this long before the deadline; 0 = none
	AccessDuration   time.Duration // Standard access, e.g. 72h
	ReadyWait        time.Duration // Professional: wait before logging in, e.g. 15m
	// EmailRetryFor bounds how long one email is retried; 0 = without end
	// (assignments started before the bound existed).
	EmailRetryFor time.Duration
	// Since versionExtension; 0 turns each off (and is what runs started
	// before it carry).
	ExpiryWarning        time.Duration `json:",omitempty"` // warn the partner side this long before Standard access ends
	MaxExtensions        int           `json:",omitempty"` // extension requests one assignment may make
	ProfessionalReminder time.Duration `json:",omitempty"` // remind of open Professional access every period
	// ProvisionRetryFor bounds activation in the customer's directory
	// (since versionDirectory; 0: an hour).
	ProvisionRetryFor time.Duration `json:",omitempty"`
}

// Input starts an assignment; the server fills it after the rules pass.
type Input struct {
	SiteID        string
	SiteName      string
	CustomerID    string
	CustomerName  string
	PartnerID     string
	PartnerName   string
	Edition       string
	PartnerUser   Person
	Role          string
	Reason        string
	RequestedBy   Person
	Approvers     []Person // Standard: who may decide
	CustomerUsers []Person // told of the assignment and of its end
	Timing        Timing
	// Vouch is how the server vouches for the start (since
	// versionVouchedStart): its MAC covers SignedFields. A start without a
	// valid one grants nothing.
	Vouch Vouch
	// Policy is what the customer's policy (R10) asks of this request, as
	// in force when it was made (since versionPolicy); its zero value is
	// the seed's behaviour. Timing carries the policy's durations.
	Policy RequestPolicy `json:",omitzero"`
	// Chats are the chat channels (chat.Via…: teams, slack) the customer
	// opted in to when the request was made, where its approvers are asked
	// too (since versionChat; nil: email alone).
	Chats []string `json:",omitempty"`
}

// RequestPolicy is what a customer's policy asks of one request, fixed
// when the request is made, so a later change never reaches a run under
// way.
type RequestPolicy struct {
	// Approvals is how many distinct approvers must approve (0 or 1: the
	// first decision settles it); the first denial denies.
	Approvals int `json:",omitempty"`
	// StartsAt is when access begins, once approved (nil: at approval).
	StartsAt *time.Time `json:",omitempty"`
	// AutoApproved names the policy's rule that approved the request in
	// advance, e.g. "auto_approve[1]: role Partner Consultant" ("": none).
	AutoApproved string `json:",omitempty"`
	// ProfessionalApproval: a Professional request waits for approval too.
	ProfessionalApproval bool `json:",omitempty"`
	// MaxDuration caps an extension (0: Timing.AccessDuration, as before).
	MaxDuration time.Duration `json:",omitempty"`
	// ApproverRoles are the customer roles that may decide (nil: the
	// approvers' roles as before); an approver who no longer holds one no
	// longer counts.
	ApproverRoles []string `json:",omitempty"`
}

// IsZero reports whether the request asks nothing of the seed's behaviour.
func (p RequestPolicy) IsZero() bool {
	return p.Approvals == 0 && p.StartsAt == nil && p.AutoApproved == "" && !p.ProfessionalApproval && p.MaxDuration == 0 &&
		len(p.ApproverRoles) == 0
}

// signedFields are what the MAC of a start covers of the policy.
func (p RequestPolicy) signedFields() []string {
	starts := ""
	if p.StartsAt != nil {
		starts = p.StartsAt.UTC().Format(time.RFC3339Nano)
	}
	return []string{"policy", strconv.Itoa(p.Approvals), starts, p.AutoApproved, strconv.FormatBool(p.ProfessionalApproval), p.MaxDuration.String(),
		strings.Join(p.ApproverRoles, "\x00")}
}

// SignedFields are what the MAC of a start covers: everything the run
// acts on, and the workflow ID it was started under.
func (in Input) SignedFields(workflowID string) []string {
	f := activities.VouchFields(workflowID, "start", in.Vouch.ID, in.Vouch.SentAt,
		in.SiteID, in.SiteName, in.CustomerID, in.CustomerName, in.PartnerID, in.PartnerName, in.Edition, in.Role, in.Reason)
	for _, ps := range [][]Person{{in.PartnerUser, in.RequestedBy}, in.Approvers, in.CustomerUsers} {
		f = append(f, strconv.Itoa(len(ps)))
		for _, p := range ps {
			f = append(f, p.ID, p.Name, p.Email)
		}
	}
	t := in.Timing
	for _, d := range []time.Duration{t.ApprovalTimeout, t.ApprovalReminder, t.AccessDuration, t.ReadyWait, t.EmailRetryFor,
		t.ExpiryWarning, t.ProfessionalReminder} {
		f = append(f, d.String())
	}
	f = append(f, strconv.Itoa(t.MaxExtensions))
	if !in.Policy.IsZero() { // as servers signed before policies, so a mixed deploy still verifies
		f = append(f, in.Policy.signedFields()...)
	}
	if len(in.Chats) > 0 { // likewise before channels
		f = append(f, "chats", strings.Join(in.Chats, "\x00"))
	}
	return f
}

// Vouch is how a server vouches for a signal it sends: a unique ID (whose
// outcome QuerySignal answers), the time, and a MAC over the signal with a
// key that servers and workers share. The workflow acts only on signals that
// carry a valid one.
type Vouch struct {
	ID     string
	SentAt time.Time
	MAC    string
}

// ApprovalSignal is an approver's decision. The first valid one wins.
type ApprovalSignal struct {
	Approve bool
	By      Person
	// Extension is the extension request decided (its number); 0 for the
	// assignment's first request.
	Extension int `json:",omitempty"`
	// Via is the channel the decision came through (chat.Via…: email,
	// page, teams, slack); "" in signals sent before channels were told
	// apart.
	Via string `json:",omitempty"`
	Vouch
}

// SignedFields are what the MAC of the signal covers. A decision on the
// first request covers the same fields as before extensions existed, and
// one without a channel the same as before channels were told apart.
func (s ApprovalSignal) SignedFields(assignmentID string) []string {
	f := []string{assignmentID, SignalApproval, s.ID, s.SentAt.UTC().Format(time.RFC3339Nano),
		s.By.ID, s.By.Name, s.By.Email, strconv.FormatBool(s.Approve)}
	if s.Extension > 0 {
		f = append(f, "extension", strconv.Itoa(s.Extension))
	}
	if s.Via != "" {
		f = append(f, "via", s.Via)
	}
	return f
}

// ExtensionSignal asks for more Standard access while it lasts: Duration
// more than the current end, if an approver agrees.
type ExtensionSignal struct {
	Duration time.Duration
	Reason   string
	By       Person
	Vouch
}

// SignedFields are what the MAC of the signal covers.
func (s ExtensionSignal) SignedFields(assignmentID string) []string {
	return []string{assignmentID, SignalExtension, s.ID, s.SentAt.UTC().Format(time.RFC3339Nano),
		s.By.ID, s.By.Name, s.By.Email, s.Duration.String(), s.Reason}
}

// UnassignSignal ends the assignment (R7): before approval it withdraws the
// request, during access it revokes at once.
type UnassignSignal struct {
	By     Person
	Reason string
	Cause  string // "" when a person unassigned; else Cause…
	Vouch
}

// SignedFields are what the MAC of the signal covers.
func (s UnassignSignal) SignedFields(assignmentID string) []string {
	return []string{assignmentID, SignalUnassign, s.ID, s.SentAt.UTC().Format(time.RFC3339Nano),
		s.By.ID, s.By.Name, s.By.Email, s.Reason, s.Cause}
}

// SignalOutcome is what became of a signal: whether it took effect and, if
// not, why (the server answers the caller with it).
type SignalOutcome struct {
	Accepted bool
	// Conflict: the request was already decided or ended; Gone: its
	// deadline passed; otherwise the signal was refused.
	Conflict bool
	Gone     bool
	Detail   string
	// Awaiting: the approval counted, and this many more are needed (R10).
	Awaiting int `json:",omitempty"`
}

// EmailsInput is the emails an ended assignment hands over to be delivered
// after it closes.
type EmailsInput struct {
	AssignmentID string
	Emails       []activities.EmailRequest
	RetryFor     time.Duration // 0: without end
	// Vouch is how the assignment vouches for the run (since
	// versionVouchedEmails): its MAC covers SignedFields.
	Vouch Vouch `json:",omitzero"`
	// Chats are the refreshes of the ended request's chat messages still
	// owed (since versionChat).
	Chats []activities.ChatRefresh `json:",omitempty"`
}

// Status is what the status query answers.
type Status struct {
	AssignmentID     string
	State            string
	RequestedAt      time.Time
	ApprovalDeadline *time.Time `json:",omitempty"`
	// AccessDuration is how long Standard access lasts once approved, as
	// fixed when this assignment started.
	AccessDuration time.Duration `json:",omitempty"`
	Decision       string        `json:",omitempty"`
	DecidedBy      string        `json:",omitempty"`
	DecidedAt      *time.Time    `json:",omitempty"`
	ActivatedAt    *time.Time    `json:",omitempty"`
	AccessEndsAt   *time.Time    `json:",omitempty"`
	EndedAt        *time.Time    `json:",omitempty"`
	EndedBy        string        `json:",omitempty"`
	EndReason      string        `json:",omitempty"`
	Failure        string        `json:",omitempty"`
	// FailedEmails lists emails the provider refused for good.
	FailedEmails []string `json:",omitempty"`
	// Extensible: the run takes extension requests while access lasts
	// (Standard, since versionExtension, MaxExtensions above 0).
	Extensible bool              `json:",omitempty"`
	Extensions []ExtensionStatus `json:",omitempty"`
	// Since versionPolicy: the approvals that counted so far when the
	// policy asks for more than one, how many it asks for, the rule that
	// approved the request in advance, and when scheduled access starts.
	Approvals         []ApprovalStatus `json:",omitempty"`
	ApprovalsRequired int              `json:",omitempty"`
	AutoApproved      string           `json:",omitempty"`
	StartsAt          *time.Time       `json:",omitempty"`
}

// ApprovalStatus is one approval that counted.
type ApprovalStatus struct {
	ByID string
	By   string // email
	Name string
	At   time.Time
}

// MarshalJSON writes AccessDuration as a duration ("72h0m0s"), readable
// where the status query is shown (the Temporal UI, the CLI).
func (s Status) MarshalJSON() ([]byte, error) {
	type plain Status
	return json.Marshal(struct {
		plain
		AccessDuration string `json:",omitempty"`
	}{plain(s), durationText(s.AccessDuration)})
}

// UnmarshalJSON reads AccessDuration as a duration string, or as the
// nanoseconds of results written before.
func (s *Status) UnmarshalJSON(b []byte) error {
	type plain Status
	var v struct {
		plain
		AccessDuration json.RawMessage `json:",omitempty"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = Status(v.plain)
	var err error
	s.AccessDuration, err = parseDurationJSON(v.AccessDuration)
	return err
}

// MarshalJSON writes Duration as a duration string.
func (e ExtensionStatus) MarshalJSON() ([]byte, error) {
	type plain ExtensionStatus
	return json.Marshal(struct {
		plain
		Duration string
	}{plain(e), e.Duration.String()})
}

// UnmarshalJSON reads Duration as a string or as nanoseconds.
func (e *ExtensionStatus) UnmarshalJSON(b []byte) error {
	type plain ExtensionStatus
	var v struct {
		plain
		Duration json.RawMessage
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*e = ExtensionStatus(v.plain)
	var err error
	e.Duration, err = parseDurationJSON(v.Duration)
	return err
}

func durationText(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

// parseDurationJSON reads "72h0m0s" or 259200000000000; nothing is 0.
func parseDurationJSON(raw json.RawMessage) (time.Duration, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s == "" {
			return 0, nil
		}
		return time.ParseDuration(s)
	}
	var n int64
	if err := json.Unmarshal(raw, &n); err != nil {
		return 0, fmt.Errorf("a duration is a string like 72h0m0s or a number of nanoseconds, not %s", raw)
	}
	return time.Duration(n), nil
}

// ExtensionStatus is one extension request and what became of it.
type ExtensionStatus struct {
	N                int
	Duration         time.Duration
	Reason           string
	RequestedBy      string // email
	RequestedAt      time.Time
	ApprovalDeadline time.Time
	State            string     // domain.Extension…
	DecidedBy        string     `json:",omitempty"`
	DecidedAt        *time.Time `json:",omitempty"`
	EndsBefore       time.Time
	EndsAfter        *time.Time       `json:",omitempty"`
	Approvals        []ApprovalStatus `json:",omitempty"` // under N of M (versionPolicy)
}
