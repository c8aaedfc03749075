package server

import (
	"fmt"
	"html/template"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/partneraccess/partneraccess/docs"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/store"
)

// fmtTime writes a time as people read it, in a <time> element whose
// datetime attribute keeps the exact instant for machines.
func fmtTime(v any) template.HTML {
	switch t := v.(type) {
	case time.Time:
		if t.IsZero() {
			return ""
		}
		return template.HTML(`<time datetime="` + t.UTC().Format(time.RFC3339) + `">` + t.UTC().Format("Mon 2 Jan 2006 15:04:05 UTC") + `</time>`)
	case *time.Time:
		if t == nil {
			return ""
		}
		return fmtTime(*t)
	}
	return template.HTML(template.HTMLEscapeString(fmt.Sprint(v)))
}

func editionName(e string) string {
	if e == domain.EditionProfessional {
		return "Professional"
	}
	return "Standard"
}

// ruleLink links a rule's name ("R4") to its definition.
func ruleLink(rule string) template.HTML {
	return template.HTML(fmt.Sprintf(`<a href="%s">%s</a>`,
		template.HTMLEscapeString(docs.RuleURL(rule)), template.HTMLEscapeString(rule)))
}

var ruleRE = regexp.MustCompile(`\((R10|R[1-9])\)`)

// withRuleLinks escapes text and links each "(Rn)" in it to the rule.
func withRuleLinks(text string) template.HTML {
	var b strings.Builder
	last := 0
	for _, m := range ruleRE.FindAllStringSubmatchIndex(text, -1) {
		b.WriteString(template.HTMLEscapeString(text[last:m[0]]))
		fmt.Fprintf(&b, "(%s)", ruleLink(text[m[2]:m[3]]))
		last = m[1]
	}
	b.WriteString(template.HTMLEscapeString(text[last:]))
	return template.HTML(b.String())
}

var urlRE = regexp.MustCompile(`https?://[^\s<>"]+`)

// linkify escapes text and turns its URLs into links (the dev mailbox).
func linkify(text string) template.HTML {
	var b strings.Builder
	last := 0
	for _, m := range urlRE.FindAllStringIndex(text, -1) {
		b.WriteString(template.HTMLEscapeString(text[last:m[0]]))
		u := template.HTMLEscapeString(text[m[0]:m[1]])
		fmt.Fprintf(&b, `<a href="%s">%s</a>`, u, u)
		last = m[1]
	}
	b.WriteString(template.HTMLEscapeString(text[last:]))
	return template.HTML(b.String())
}

// links are the URLs in an email's text, each once, in order.
func links(text string) []string {
	var out []string
	for _, u := range urlRE.FindAllString(text, -1) {
		if !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return out
}

// emailKindText writes an email's kind for people: "access_granted" →
// "Access granted".
func emailKindText(kind string) string {
	t := strings.ReplaceAll(kind, "_", " ")
	t = strings.ReplaceAll(t, "avd", "Azure Virtual Desktop")
	if t == "" {
		return ""
	}
	return strings.ToUpper(t[:1]) + t[1:]
}

// deliveryText says where an email is, in the API's words (newEmailView):
// a message in the dev mailbox counts as sent, since it is this
// deployment's delivery, and one whose last attempt failed is queued.
func deliveryText(e store.Email) string {
	switch v := newEmailView(e); {
	case e.Status == store.EmailLocal:
		return "sent (to the dev mailbox)"
	case v.Status == "queued":
		return "queued (retrying)"
	default:
		return v.Status
	}
}

// nameOf is a person's name from names, or the ID when it is not there.
func nameOf(names map[string]string, id string) string {
	if n := names[id]; n != "" {
		return n
	}
	return id
}

// approvalProgress is how far a request that needs several approvals has
// come, naming who approved: "1 of 2 approvals: Casey Contoso"; empty when
// one approval settles it.
func approvalProgress(required int, approvals []store.Approval) string {
	names := make([]string, len(approvals))
	for i, a := range approvals {
		names[i] = a.ApproverName
	}
	return domain.ApprovalProgress(required, names)
}

// channelName is a chat channel's name for people.
func channelName(via string) string {
	switch via {
	case "teams":
		return "Microsoft Teams"
	case "slack":
		return "Slack"
	}
	return via
}

// chatDeliveryText says how a chat delivery stands.
func chatDeliveryText(d store.ChatDelivery) string {
	switch d.State {
	case store.ChatSending:
		return "sending (retrying)"
	case store.ChatUnreachable:
		return "not reachable there"
	case store.ChatSkipped:
		return "not sent"
	}
	return d.State
}

// sentence capitalizes the first word of text unless it is a name that is
// written in lower case (an address, an ID, a setting): a refusal's
// detail, written to follow "409:" in the API, heads a page alone.
func sentence(text string) string {
	word, _, _ := strings.Cut(text, " ")
	if word == "" || word[0] < 'a' || word[0] > 'z' || strings.ContainsAny(word, "@_-./:0123456789") {
		return text
	}
	return strings.ToUpper(text[:1]) + text[1:]
}

// accessEnd is when an assignment's access ends or ended: the planned end,
// or when it was revoked or ended before it (nil: no end).
func accessEnd(a store.Assignment) *time.Time {
	if endedEarly(a) {
		return a.EndedAt
	}
	return a.AccessEndsAt
}

// endedEarly reports whether access that began ended before its planned end.
func endedEarly(a store.Assignment) bool {
	return a.EndedAt != nil && a.ActivatedAt != nil && (a.AccessEndsAt == nil || a.EndedAt.Before(*a.AccessEndsAt))
}
