package domain

// Action names what an audit entry records: a step of an assignment, a
// refusal, a change an administrator or the operator made. The audit log
// keeps the string, and the workflow's own payloads carry it, so a name
// never changes once written. The workflow, the activities, the service,
// the timeline and whatever reads the log (reports, webhooks) use these.
type Action string

// An assignment's steps, written by its workflow.
const (
	ActionAssignmentRequested         Action = "assignment.requested"
	ActionAssignmentApproved          Action = "assignment.approved"
	ActionApprovalCounted             Action = "approval.counted"     // counted, but the policy asks for more (R10)
	ActionAssignmentScheduled         Action = "assignment.scheduled" // approved; access from a later start (R10)
	ActionAssignmentDenied            Action = "assignment.denied"
	ActionAssignmentApprovalExpired   Action = "assignment.approval_expired"
	ActionAssignmentWithdrawn         Action = "assignment.withdrawn"
	ActionAssignmentFailed            Action = "assignment.failed"
	ActionAssignmentUnassignRequested Action = "assignment.unassign_requested"
	ActionAccessReady                 Action = "access.ready"
	ActionAccessStarted               Action = "access.started" // a scheduled start came
	ActionAccessExpired               Action = "access.expired"
	ActionAccessRevoked               Action = "access.revoked"
	ActionAccessFailed                Action = "access.failed"
	ActionAccessProvisioned           Action = "access.provisioned"
	ActionAccessReconciled            Action = "access.reconciled"
	ActionRevocationProven            Action = "revocation.proven"
	ActionExtensionRequested          Action = "extension.requested"
	ActionExtensionApproved           Action = "extension.approved"
	ActionExtensionDenied             Action = "extension.denied"
	ActionExtensionLapsed             Action = "extension.lapsed"
	ActionDriftRemoved                Action = "drift.removed"
	ActionDriftRestored               Action = "drift.restored"
	ActionDriftSessionEnded           Action = "drift.session_ended"
	ActionCredentialViewed            Action = "credential.viewed"
	ActionCredentialReissued          Action = "credential.reissued"
)

// ExtensionSettled is the step that settles an extension request in state
// (ExtensionApproved, ExtensionDenied or ExtensionLapsed).
func ExtensionSettled(state string) Action { return Action("extension." + state) }

// Refusals: what was tried and changed nothing.
const (
	ActionAssignmentRefused         Action = "assignment.refused"
	ActionAssignmentUnassignRefused Action = "assignment.unassign_refused"
	ActionApprovalRefused           Action = "approval.refused"
	ActionApprovalLinkRefused       Action = "approval.link_refused"
	ActionExtensionRefused          Action = "extension.refused"
	ActionCredentialRefused         Action = "credential.refused"
	ActionCredentialReissueRefused  Action = "credential.reissue_refused"
	ActionAccessRefused             Action = "access.refused"
	ActionPermissionRefused         Action = "permission.refused"
	ActionPolicyRefused             Action = "policy.refused"
	ActionRequestRefused            Action = "request.refused"
	ActionSessionRefused            Action = "session.refused"
	ActionUserRefused               Action = "user.refused"
	ActionRegistrationRefused       Action = "registration.refused"
	ActionPasswordResetRefused      Action = "password_reset.refused"
	ActionSSORefused                Action = "sso.refused"
	ActionChatRefused               Action = "chat.refused" // a chat's request refused before any decision: it proved nothing, or not the approver asked (SPEC §14)
)

// SignalRefused is the refusal of a signal (SignalApproval, …) that was
// vouched for but could not count.
func SignalRefused(signal string) Action { return Action(signal + ".refused") }

// Inputs the store does not justify: a start, a signal, an email or a
// reissue nobody vouched for, or claiming what is not so (SPEC §7).
const (
	ActionStartForged   Action = "start.forged"
	ActionSignalForged  Action = "signal.forged"
	ActionEmailForged   Action = "email.forged"
	ActionReissueForged Action = "reissue.forged"
)

// Permissions, users and sign-in.
const (
	ActionPermissionGranted        Action = "permission.granted"
	ActionPermissionWithdrawn      Action = "permission.withdrawn"
	ActionPolicyChanged            Action = "policy.changed" // a customer's or site's policy (R10), by its administrator or the directory file
	ActionUserInvited              Action = "user.invited"
	ActionUserInvitationSent       Action = "user.invitation_sent"
	ActionUserInvitationFailed     Action = "user.invitation_failed"
	ActionUserInvitationSuppressed Action = "user.invitation_suppressed"
	ActionUserInvitationWithdrawn  Action = "user.invitation_withdrawn"
	ActionUserRegistered           Action = "user.registered"
	ActionUserSuspended            Action = "user.suspended"
	ActionUserReactivated          Action = "user.reactivated"
	ActionUserRolesSet             Action = "user.roles_set"
	ActionPasswordResetRequested   Action = "password_reset.requested"
	ActionPasswordResetCompleted   Action = "password_reset.completed"
	ActionPasswordResetMailFailed  Action = "password_reset.email_failed"
	ActionSSOSignedIn              Action = "sso.signed_in"
	ActionSSOBound                 Action = "sso.bound"
	ActionTeamsBound               Action = "teams.bound"   // a Teams 1:1 conversation bound to a customer user, or to nobody
	ActionTeamsUnbound             Action = "teams.unbound" // a suspended user's Teams conversation let go
)

// The operator's directory file (directory apply).
const (
	ActionPartnerCreated        Action = "partner.created"
	ActionPartnerRenamed        Action = "partner.renamed"
	ActionCustomerCreated       Action = "customer.created"
	ActionCustomerRenamed       Action = "customer.renamed"
	ActionSiteCreated           Action = "site.created"
	ActionSiteRenamed           Action = "site.renamed"
	ActionSiteAccessGroupSet    Action = "site.access_group_set"
	ActionCustomerTargetSet     Action = "customer.target_set"
	ActionCustomerTargetRemoved Action = "customer.target_removed"
	ActionOrgSSOSet             Action = "org.sso_set"
	ActionOrgSSORemoved         Action = "org.sso_removed"
	ActionCustomerSlackSet      Action = "customer.slack_set"
	ActionCustomerSlackRemoved  Action = "customer.slack_removed"
	ActionCustomerTeamsSet      Action = "customer.teams_set" // approvals in Teams set, changed or off
)

// Access reviews and a permission's end (SPEC §15).
const (
	ActionReviewStarted    Action = "review.started"
	ActionReviewKept       Action = "review.kept"    // an administrator confirmed an item
	ActionReviewRemoved    Action = "review.removed" // an administrator removed it
	ActionReviewMissed     Action = "review.missed"  // nobody decided by the deadline
	ActionReviewFinished   Action = "review.finished"
	ActionReviewRefused    Action = "review.refused"
	ActionPermissionLapsed Action = "permission.lapsed" // its end came: a withdrawal (R1)
)

// Webhooks (SPEC §15), by an organization's administrator, the directory
// file, or the delivery workflow that gave up on one.
const (
	ActionWebhookCreated Action = "webhook.created"
	ActionWebhookDeleted Action = "webhook.deleted"
	ActionWebhookPaused  Action = "webhook.paused"
	ActionWebhookResumed Action = "webhook.resumed"
	ActionWebhookRefused Action = "webhook.refused"
)
