package testenv

import (
	"time"

	"github.com/partneraccess/partneraccess/internal/store"
)

// APIAssignment is an assignment as the JSON API answers it, for tests to
// decode; the tests keep their own copy of the contract, so a change of the
// server's views that breaks it fails here too.
type APIAssignment struct {
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
	ApprovalDeadline *time.Time `json:"approval_deadline"`
	DecidedBy        string     `json:"decided_by"`
	Decision         string     `json:"decision"`
	DecidedAt        *time.Time `json:"decided_at"`
	ActivatedAt      *time.Time `json:"activated_at"`
	AccessEndsAt     *time.Time `json:"access_ends_at"`
	EndedAt          *time.Time `json:"ended_at"`
	EndedBy          string     `json:"ended_by"`
	EndReason        string     `json:"end_reason"`
	Failure          string     `json:"failure"`
	UpdatedAt        time.Time  `json:"updated_at"`
}

// Row is the answer as the store's row type, which the helpers take.
func (a APIAssignment) Row() store.Assignment {
	return store.Assignment{
		ID: a.ID, WorkflowID: a.WorkflowID, SiteID: a.SiteID, SiteName: a.SiteName, CustomerID: a.CustomerID,
		CustomerName: a.CustomerName, PartnerID: a.PartnerID, PartnerUserID: a.PartnerUserID, PartnerUserName: a.PartnerUserName,
		PartnerUserEmail: a.PartnerUserEmail, Role: a.Role, Reason: a.Reason, Edition: a.Edition, State: a.State,
		RequestedBy: a.RequestedBy, RequestedAt: a.RequestedAt, ApprovalDeadline: a.ApprovalDeadline, DecidedBy: a.DecidedBy,
		Decision: a.Decision, DecidedAt: a.DecidedAt, ActivatedAt: a.ActivatedAt, AccessEndsAt: a.AccessEndsAt,
		EndedAt: a.EndedAt, EndedBy: a.EndedBy, EndReason: a.EndReason, Failure: a.Failure, UpdatedAt: a.UpdatedAt,
	}
}

// APIExtension is a request for more time as the API answers it.
type APIExtension struct {
	N           int        `json:"n"`
	Duration    string     `json:"duration"`
	Reason      string     `json:"reason"`
	RequestedBy string     `json:"requested_by"`
	State       string     `json:"state"`
	DecidedBy   string     `json:"decided_by"`
	DecidedAt   *time.Time `json:"decided_at"`
	EndsBefore  time.Time  `json:"access_ends_before"`
	EndsAfter   *time.Time `json:"access_ends_after"`
}
