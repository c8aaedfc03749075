package slackchat

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/partneraccess/partneraccess/internal/chat"
)

// The buttons' action IDs. A sign_in message's one button is a link; Slack
// still tells the interactivity URL that it was clicked, which decides
// nothing.
const (
	actionApprove = "approve"
	actionDeny    = "deny"
	actionOpen    = "open"
)

// message is what one approver's direct message shows: the request as
// asked, and where it stands (nil: just asked).
func message(r chat.Request, st *chat.State) (text string, blocks []slack.Block) {
	who := escape(r.PartnerUserName)
	if r.PartnerName != "" {
		who += " of " + escape(r.PartnerName)
	}
	asks := fmt.Sprintf("*%s* (%s) asks for *%s* access to *%s* of %s.", who, escape(r.PartnerUserEmail), escape(r.Role),
		escape(r.SiteName), escape(r.CustomerName))
	if r.Extension > 0 {
		asks = fmt.Sprintf("*%s* (%s) asks for more time on *%s* access to *%s* of %s.", who, escape(r.PartnerUserEmail),
			escape(r.Role), escape(r.SiteName), escape(r.CustomerName))
	}
	text = fmt.Sprintf("%s asks for access to %s: approve or deny", r.PartnerUserName, r.SiteName)
	fields := []*slack.TextBlockObject{
		mrkdwn("*Reason*\n" + escape(r.Reason)),
		mrkdwn("*Access*\n" + window(r)),
	}
	if !r.Deadline.IsZero() {
		fields = append(fields, mrkdwn("*Decide by*\n"+when(r.Deadline, "Mon 2 Jan 15:04 UTC", "{date_short_pretty} {time}")))
	}
	approvals, required := r.Approvals, r.Required
	if st != nil && st.Required > 0 {
		approvals, required = st.Approvals, st.Required
	}
	if required > 1 {
		fields = append(fields, mrkdwn("*Approvals*\n"+progress(approvals, required)))
	}
	blocks = []slack.Block{
		slack.NewHeaderBlock(plain("Access request: " + clip(r.SiteName, 120))),
		slack.NewSectionBlock(mrkdwn(asks), nil, nil),
		slack.NewSectionBlock(nil, fields, nil),
	}
	switch {
	case st != nil && st.Decided:
		text = outcomeLine(st.Decision, st.DecidedBy, st.DecidedAt)
		blocks = append(blocks, slack.NewContextBlock("outcome", mrkdwn(text)))
	case st != nil && st.Ended != "":
		text = "This request was " + escape(st.Ended) + "; nothing is left to decide."
		blocks = append(blocks, slack.NewContextBlock("outcome", mrkdwn(text)))
	case st != nil && slices.Contains(st.Approvals, r.Approver.Name):
		// This approver's approval counted; the request waits for others.
		blocks = append(blocks, slack.NewContextBlock("outcome", mrkdwn(fmt.Sprintf("You approved; the request waits for %s.",
			plural(max(st.Required-len(st.Approvals), 1), "more approval")))))
	case r.Decisions == chat.SignIn:
		open := slack.NewButtonBlockElement(actionOpen, buttonValue(r), plain("Open the request to decide")).
			WithURL(r.PageURL).WithStyle(slack.StylePrimary)
		blocks = append(blocks, slack.NewActionBlock("decide", open),
			slack.NewContextBlock("how", mrkdwn("You decide on the approval page, after you sign in.")))
	default:
		approve := slack.NewButtonBlockElement(actionApprove, buttonValue(r), plain("Approve")).WithStyle(slack.StylePrimary)
		deny := slack.NewButtonBlockElement(actionDeny, buttonValue(r), plain("Deny")).WithStyle(slack.StyleDanger)
		blocks = append(blocks, slack.NewActionBlock("decide", approve, deny))
	}
	return text, blocks
}

// answerBlocks is the message of the approver who clicked once the click
// is answered with line (which says how the request stands): the request
// without buttons, as this approver has decided, or may not.
func answerBlocks(r chat.Request, st *chat.State, line string) []slack.Block {
	_, blocks := message(r, st)
	return append(blocks[:3:3], slack.NewContextBlock("answer", mrkdwn(line)))
}

// outcomeLine says who settled a request, and when, in the reader's own
// time zone (Slack's date formatting) with UTC as the fallback.
func outcomeLine(decision, by string, at time.Time) string {
	verb := "Approved"
	if decision == "denied" {
		verb = "Denied"
	}
	line := verb + " by " + escape(by)
	if !at.IsZero() {
		line += " at " + when(at, "15:04 UTC", "{time}")
	}
	return line
}

// window is how long access lasts, and from when.
func window(r chat.Request) string {
	d := "until unassigned"
	if r.Duration > 0 {
		d = "for " + duration(r.Duration)
	}
	if r.StartsAt.IsZero() {
		return d + ", once approved"
	}
	return "from " + when(r.StartsAt, "Mon 2 Jan 15:04 UTC", "{date_short_pretty} {time}") + ", " + d
}

func duration(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return plural(int(d/(24*time.Hour)), "day")
	case d%time.Hour == 0:
		return plural(int(d/time.Hour), "hour")
	}
	return d.String()
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// progress is "1 of 2 (Casey Contoso)".
func progress(approvals []string, required int) string {
	p := fmt.Sprintf("%d of %d", len(approvals), required)
	if len(approvals) > 0 {
		names := make([]string, len(approvals))
		for i, n := range approvals {
			names[i] = escape(n)
		}
		p += " (" + strings.Join(names, ", ") + ")"
	}
	return p
}

// when is t in Slack's date formatting: each reader sees it in their own
// time zone; fallback (a Go layout, in UTC) is what a client without it
// shows.
func when(t time.Time, fallback, format string) string {
	return fmt.Sprintf("<!date^%d^%s|%s>", t.Unix(), format, t.UTC().Format(fallback))
}

// buttonValue names the message a button is on: the request and the
// approver asked. It is only a pointer: what a click may do is decided by
// the message recorded here, never by the value.
func buttonValue(r chat.Request) string {
	return r.AssignmentID + "/" + strconv.Itoa(r.Extension) + "/" + r.Approver.ID
}

// parseButtonValue reads buttonValue.
func parseButtonValue(v string) (assignmentID string, extension int, approverID string, ok bool) {
	parts := strings.Split(v, "/")
	if len(parts) != 3 || parts[0] == "" || parts[2] == "" {
		return "", 0, "", false
	}
	n, err := strconv.Atoi(parts[1])
	if err != nil || n < 0 {
		return "", 0, "", false
	}
	return parts[0], n, parts[2], true
}

// escape makes text literal in Slack's mrkdwn: <, > and & are its only
// control characters (links, mentions); a name cannot mention @channel or
// link elsewhere.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, clip(s, 2900), false, false)
}

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}

// clip keeps s within n bytes (Slack's limits on a text object), cut at
// the start of a rune.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
