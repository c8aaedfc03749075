// Package domain names the states and editions shared by the workflow, the
// store and the server. It has no dependencies, so workflow code can use it.
package domain

// Editions of a Sage 200 site.
const (
	EditionStandard     = "standard"
	EditionProfessional = "professional"
)

// Assignment states (SPEC §3).
//
//	Standard:     requested -> pending_approval -> active -> expired
//	                                |               \-> revoked
//	                                |-> denied | approval_expired | withdrawn
//	Professional: requested -> provisioning -> active -> revoked
//
// failed is reached when the request could not be delivered to anyone.
const (
	StateRequested       = "requested"
	StatePendingApproval = "pending_approval"
	StateProvisioning    = "provisioning"
	StateActive          = "active"
	StateExpired         = "expired"
	StateRevoked         = "revoked"
	StateDenied          = "denied"
	StateApprovalExpired = "approval_expired"
	StateWithdrawn       = "withdrawn"
	StateFailed          = "failed"
)

// OpenState reports whether an assignment in state may still change.
func OpenState(state string) bool {
	switch state {
	case StateRequested, StatePendingApproval, StateProvisioning, StateActive:
		return true
	}
	return false
}

// Decisions on a Standard request.
const (
	DecisionApproved = "approved"
	DecisionDenied   = "denied"
)
