// Package domain names the states and editions shared by the workflow, the
// store and the server. It has no dependencies, so workflow code can use it.
package domain

import "slices"

// Editions of a Sage 200 site.
const (
	EditionStandard     = "standard"
	EditionProfessional = "professional"
)

// Assignment states (docs/workflow.md).
//
//	Standard:     requested -> pending_approval -> [scheduled ->] active -> expired
//	                                |                               \-> revoked
//	                                |-> denied | approval_expired | withdrawn
//	Professional: requested -> [scheduled ->] provisioning -> active -> revoked
//
// scheduled is a request with a later start (R10): approved, its access not
// yet made; every end (unassign, R1, R2, cancel) applies to it as to any
// open state.
//
// failed is reached when the request could not be delivered to anyone.
const (
	StateRequested       = "requested"
	StatePendingApproval = "pending_approval"
	StateScheduled       = "scheduled"
	StateProvisioning    = "provisioning"
	StateActive          = "active"
	StateExpired         = "expired"
	StateRevoked         = "revoked"
	StateDenied          = "denied"
	StateApprovalExpired = "approval_expired"
	StateWithdrawn       = "withdrawn"
	StateFailed          = "failed"
)

// OpenStates are the states of an assignment that may still change; the
// others are final. This is the one list: the store's queries are made
// from it.
var OpenStates = []string{StateRequested, StatePendingApproval, StateScheduled, StateProvisioning, StateActive}

// States lists every state, in the order of the diagrams.
var States = []string{StateRequested, StatePendingApproval, StateScheduled, StateProvisioning, StateActive, StateExpired,
	StateRevoked, StateDenied, StateApprovalExpired, StateWithdrawn, StateFailed}

// OpenState reports whether an assignment in state may still change.
func OpenState(state string) bool {
	return slices.Contains(OpenStates, state)
}

// Decisions on a Standard request.
const (
	DecisionApproved = "approved"
	DecisionDenied   = "denied"
)

// ViaWords says where a decision was made, for a record's detail: " in
// Teams", " from the email link" ("" when the channel is not known, as in
// runs recorded before channels were told apart). The channels are
// chat.Via….
func ViaWords(via string) string {
	switch via {
	case "":
		return ""
	case "email":
		return " from the email link"
	case "page":
		return " on the approval page"
	case "teams":
		return " in Teams"
	case "slack":
		return " in Slack"
	}
	return " via " + via
}

// States of an extension request: it waits for a decision, is approved or
// denied, or lapses when nobody decided before its deadline or access ended.
const (
	ExtensionPending  = "pending"
	ExtensionApproved = "approved"
	ExtensionDenied   = "denied"
	ExtensionLapsed   = "lapsed"
)

// EmailKind is the kind of an email (docs/workflow.md); it names its templates.
type EmailKind string

// The kinds of email.
const (
	EmailApprovalRequest      EmailKind = "approval_request"
	EmailApprovalReminder     EmailKind = "approval_reminder"
	EmailApprovalConfirmation EmailKind = "approval_confirmation"
	EmailAccessGranted        EmailKind = "access_granted"
	EmailAccessDenied         EmailKind = "access_denied"
	EmailApprovalExpired      EmailKind = "approval_expired"
	EmailRequestWithdrawn     EmailKind = "request_withdrawn"
	EmailAccessEnded          EmailKind = "access_ended"
	EmailProfessionalNotice   EmailKind = "professional_notice"
	EmailAVDInstructions      EmailKind = "avd_instructions"
	EmailCredentialLink       EmailKind = "credential_link"
	EmailReadyToLogIn         EmailKind = "ready"
	EmailDeliveryFailed       EmailKind = "delivery_failed"
	EmailCustomerNotice       EmailKind = "customer_notice" // Standard: customer users who do not approve
	EmailRequestSent          EmailKind = "request_sent"    // to whoever assigned someone else
	EmailInvitation           EmailKind = "invitation"      // sent by the server, not a workflow
	EmailPasswordReset        EmailKind = "password_reset"  // sent by the server, not a workflow
	EmailExpiryWarning        EmailKind = "expiry_warning"  // Standard access ends soon; more time can be asked for
	EmailExtensionRequest     EmailKind = "extension_request"
	EmailExtensionGranted     EmailKind = "extension_granted"
	EmailExtensionDenied      EmailKind = "extension_denied" // denied, or nobody decided in time
	EmailProfessionalReminder EmailKind = "professional_reminder"
	EmailAccessFailed         EmailKind = "access_failed"    // the customer's directory refused the access
	EmailAccessScheduled      EmailKind = "access_scheduled" // approved; access starts later (R10)
	// Access reviews and a permission's end (SPEC §15): sent by their
	// workflows, to no assignment.
	EmailReviewRequest    EmailKind = "review_request"    // an administrator is asked to confirm
	EmailReviewReminder   EmailKind = "review_reminder"   // at half time and a day before the deadline
	EmailReviewRemoved    EmailKind = "review_removed"    // to whom a review removed, and why
	EmailPermissionEnding EmailKind = "permission_ending" // 14 and 2 days before, with its renewal
	EmailPermissionLapsed EmailKind = "permission_lapsed" // to both sides
	EmailWebhookPaused    EmailKind = "webhook_paused"    // to an organization's administrators (SPEC §15)
)

// EmailKinds lists every kind.
var EmailKinds = []EmailKind{EmailApprovalRequest, EmailApprovalReminder, EmailApprovalConfirmation, EmailAccessGranted,
	EmailAccessDenied, EmailApprovalExpired, EmailRequestWithdrawn, EmailAccessEnded, EmailProfessionalNotice,
	EmailAVDInstructions, EmailCredentialLink, EmailReadyToLogIn, EmailDeliveryFailed, EmailCustomerNotice, EmailRequestSent,
	EmailInvitation, EmailPasswordReset,
	EmailExpiryWarning, EmailExtensionRequest, EmailExtensionGranted, EmailExtensionDenied, EmailProfessionalReminder,
	EmailAccessFailed, EmailAccessScheduled,
	EmailReviewRequest, EmailReviewReminder, EmailReviewRemoved, EmailPermissionEnding, EmailPermissionLapsed, EmailWebhookPaused}

// Valid reports whether k is a known kind.
func (k EmailKind) Valid() bool {
	for _, known := range EmailKinds {
		if k == known {
			return true
		}
	}
	return false
}
