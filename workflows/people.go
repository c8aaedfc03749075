package workflows

import (
	"strings"
)

// Who an assignment deals with, as its input names them: the partner side,
// the customer's users and its approvers.

func (w *assignment) isApprover(id string) bool {
	for _, p := range w.in.Approvers {
		if p.ID == id {
			return true
		}
	}
	return false
}

// bothSides is everyone told when access ends: the partner side and the
// customer's users.
func (w *assignment) bothSides() []Person {
	return append(w.partnerSide(), w.in.CustomerUsers...)
}

// partnerSide is the partner user and, since versionJustified, whoever
// assigned them when that is someone else (R4).
func (w *assignment) partnerSide() []Person {
	if w.requesterIsOther() {
		return []Person{w.in.PartnerUser, w.in.RequestedBy}
	}
	return []Person{w.in.PartnerUser}
}

func (w *assignment) requesterIsOther() bool {
	return w.justified && w.in.RequestedBy.Email != "" && !strings.EqualFold(w.in.RequestedBy.Email, w.in.PartnerUser.Email)
}

// notApprovers are the customer users told of a Standard assignment who do
// not get an approval request.
func (w *assignment) notApprovers() []Person {
	var out []Person
	for _, p := range w.in.CustomerUsers {
		if !w.isApprover(p.ID) {
			out = append(out, p)
		}
	}
	return out
}

func endedBy(cause string) string {
	switch cause {
	case CausePermissionWithdrawn:
		return "permission withdrawn by "
	case CauseUserSuspended:
		return "user suspended by "
	}
	return "unassigned by "
}
