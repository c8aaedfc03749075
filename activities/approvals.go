package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/store"
)

// ApprovalRecord is an approval that counted toward a request that needs
// several (R10): of the request (Extension 0) or of extension request n.
type ApprovalRecord struct {
	AssignmentID string
	Extension    int `json:",omitempty"`
	ApproverID   string
	At           time.Time
	Detail       string
	Via          string `json:",omitempty"` // the channel it came through
}

// RecordApproval keeps an approval that counted, and its line in the audit
// log, once.
func (a *Activities) RecordApproval(ctx context.Context, in ApprovalRecord) error {
	if err := a.Store.PutApproval(ctx, store.Approval{AssignmentID: in.AssignmentID, Extension: in.Extension,
		ApproverID: in.ApproverID, At: in.At, Via: in.Via}); err != nil {
		return err
	}
	key := fmt.Sprintf("approval/%s/%d/%s", in.AssignmentID, in.Extension, in.ApproverID)
	return a.Store.Audit(ctx, store.AuditEntry{At: in.At, ActorID: in.ApproverID, Action: domain.ActionApprovalCounted,
		Outcome: store.OutcomeOK, AssignmentID: in.AssignmentID, Detail: in.Detail, EventKey: &key, Via: in.Via})
}
