package teams

import (
	"fmt"
	"strings"
	"time"

	"github.com/partneraccess/partneraccess/internal/chat"
	"github.com/partneraccess/partneraccess/internal/policy"
)

// Verbs of the card's Action.Execute buttons.
const (
	verbApprove = "approve"
	verbDeny    = "deny"
)

// actionData is what a button sends back in the invoke: which request, and
// the approver the card was sent to.
type actionData struct {
	AssignmentID string `json:"assignment"`
	Extension    int    `json:"extension"`
	ApproverID   string `json:"approver"`
}

// cardContentType is an Adaptive Card's attachment type.
const cardContentType = "application/vnd.microsoft.card.adaptive"

// card is the Adaptive Card (v1.4: Action.Execute) of a request as it
// stands: its facts, its progress, and Approve and Deny while it waits
// (links to the approval page when the customer asks for sign_in). status,
// when set, is the line shown under the facts instead of the buttons.
func card(r chat.Request, st chat.State, status string) map[string]any {
	title := "Access request: " + r.SiteName
	if r.Extension > 0 {
		title = fmt.Sprintf("Extension request %d: %s", r.Extension, r.SiteName)
	}
	facts := []map[string]string{
		{"title": "Who asks", "value": fmt.Sprintf("%s (%s), %s", r.PartnerUserName, r.PartnerUserEmail, r.PartnerName)},
		{"title": "Site", "value": r.SiteName + " (" + r.CustomerName + ")"},
		{"title": "Role", "value": r.Role},
		{"title": "Reason", "value": r.Reason},
		{"title": "Access", "value": window(r)},
	}
	if !r.Deadline.IsZero() {
		facts = append(facts, map[string]string{"title": "Decide by", "value": stamp(r.Deadline)})
	}
	approvals, required := r.Approvals, r.Required
	if st.Required > 0 || len(st.Approvals) > 0 {
		approvals, required = st.Approvals, st.Required
	}
	if required > 1 {
		facts = append(facts, map[string]string{"title": "Approvals", "value": progress(approvals, required)})
	}
	body := []any{
		map[string]any{"type": "TextBlock", "text": title, "weight": "Bolder", "size": "Medium", "wrap": true},
		map[string]any{"type": "FactSet", "facts": facts},
	}
	if status == "" {
		status = stateWords(st)
	}
	c := map[string]any{"type": "AdaptiveCard", "$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "version": "1.4"}
	if status != "" {
		body = append(body, map[string]any{"type": "TextBlock", "text": status, "weight": "Bolder", "wrap": true})
	}
	c["body"] = body
	if !st.Decided {
		c["actions"] = buttons(r)
	}
	return c
}

// buttons decide in the chat, or open the approval page behind login.
func buttons(r chat.Request) []any {
	if r.Decisions == chat.SignIn {
		return []any{map[string]any{"type": "Action.OpenUrl", "title": "Open the request to decide", "url": r.PageURL}}
	}
	data := actionData{AssignmentID: r.AssignmentID, Extension: r.Extension, ApproverID: r.Approver.ID}
	return []any{
		map[string]any{"type": "Action.Execute", "title": "Approve", "verb": verbApprove, "data": data, "style": "positive"},
		map[string]any{"type": "Action.Execute", "title": "Deny", "verb": verbDeny, "data": data, "style": "destructive"},
	}
}

// window says how long access lasts, and from when.
func window(r chat.Request) string {
	d := "until unassigned"
	if r.Duration > 0 {
		d = policy.Human(r.Duration)
		if r.Extension > 0 {
			d += " more"
		}
	}
	if !r.StartsAt.IsZero() {
		return "from " + stamp(r.StartsAt) + ", " + d
	}
	return d
}

// stateWords is how a settled or progressing request reads on its card.
func stateWords(st chat.State) string {
	switch {
	case st.Decision != "":
		return fmt.Sprintf("%s by %s at %s", capital(st.Decision), st.DecidedBy, clock(st.DecidedAt))
	case st.Ended != "":
		return "This request " + endWords(st.Ended) + "; nothing is left to decide."
	case len(st.Approvals) > 0 && st.Required > 1:
		return progress(st.Approvals, st.Required)
	}
	return ""
}

// answer is the line for the person who clicked.
func answer(o chat.Outcome, approve bool) string {
	switch {
	case o.Counted && o.Decision != "":
		return fmt.Sprintf("%s by %s at %s", capital(o.Decision), o.DecidedBy, clock(o.DecidedAt))
	case o.Counted && o.Awaiting > 0:
		return fmt.Sprintf("Your approval counted; %d more needed.", o.Awaiting)
	case o.Counted && approve:
		return "Your approval counted."
	case o.Counted:
		return "Your denial counted."
	case o.DecidedBy != "":
		return fmt.Sprintf("Already %s by %s at %s", o.Decision, o.DecidedBy, clock(o.DecidedAt))
	}
	return "Your decision did not count: " + o.Refusal
}

func endWords(ended string) string {
	switch ended {
	case "expired":
		return "lapsed undecided"
	case "withdrawn":
		return "was withdrawn"
	}
	return "ended (" + ended + ")"
}

func progress(names []string, required int) string {
	s := fmt.Sprintf("%d of %d approvals", len(names), required)
	if len(names) > 0 {
		s += ": " + strings.Join(names, ", ")
	}
	return s
}

func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func stamp(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04 UTC") }
func clock(t time.Time) string { return t.UTC().Format("15:04") + " UTC" }
