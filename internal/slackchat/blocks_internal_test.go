package slackchat

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/internal/chat"
)

func request() chat.Request {
	return chat.Request{AssignmentID: "a1", CustomerID: "contoso", Approver: chat.Approver{ID: "u-casey", Name: "Casey Contoso", Email: "admin@contoso.example"},
		PartnerName: "Northwind Partners", PartnerUserName: "Alex Agent", PartnerUserEmail: "agent@partner.example",
		CustomerName: "Contoso", SiteName: "Contoso Sage 200 Standard", Role: "partner_consultant", Reason: "CS-1234: month-end <!channel> & *upgrade*",
		Duration: 72 * time.Hour, Deadline: time.Date(2026, 12, 9, 14, 2, 0, 0, time.UTC), Decisions: chat.InChat}
}

func render(t *testing.T, r chat.Request, st *chat.State) string {
	t.Helper()
	_, blocks := message(r, st)
	b, err := json.Marshal(blocks)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The message says who asks, for which site, why and for how long, with
// Approve and Deny buttons that name the request and the approver; text
// from people is literal (no mention, no link).
func TestMessageShowsTheRequestAndItsButtons(t *testing.T) {
	got := render(t, request(), nil)
	for _, want := range []string{
		"Alex Agent of Northwind Partners", "agent@partner.example", "partner_consultant", "Contoso Sage 200 Standard",
		"CS-1234: month-end \u0026amp;lt;!channel\u0026amp;gt; \u0026amp;amp; *upgrade*", "for 3 days, once approved",
		fmt.Sprintf("<!date^%d^{date_short_pretty} {time}|Wed 9 Dec 14:02 UTC>", request().Deadline.Unix()),
		`"action_id":"approve","value":"a1/0/u-casey"`, `"action_id":"deny","value":"a1/0/u-casey"`, `"style":"primary"`, `"style":"danger"`,
	} {
		want = strings.NewReplacer("<", `\u003c`, ">", `\u003e`, "&", `\u0026`).Replace(want)
		want = strings.ReplaceAll(want, `\u0026amp;`, `\u0026`)
		if !strings.Contains(got, want) {
			t.Errorf("message lacks %s:\n%s", want, got)
		}
	}
	if strings.Contains(got, "Approvals") {
		t.Errorf("one approval needed, yet progress shown: %s", got)
	}
}

// A policy of two approvals shows the progress; a scheduled window shows
// its start; an extension request says so.
func TestMessageShowsProgressWindowAndExtension(t *testing.T) {
	r := request()
	r.Required, r.Approvals = 2, []string{"Olive Ops"}
	r.StartsAt = time.Date(2026, 12, 10, 8, 0, 0, 0, time.UTC)
	r.Duration = 0
	r.Extension = 1
	got := render(t, r, nil)
	for _, want := range []string{"1 of 2 (Olive Ops)", "Thu 10 Dec 08:00 UTC", "until unassigned", "asks for more time", `"value":"a1/1/u-casey"`} {
		if !strings.Contains(got, want) {
			t.Errorf("message lacks %q:\n%s", want, got)
		}
	}
	got = render(t, r, &chat.State{Approvals: []string{"Olive Ops", "Vic Viewer"}, Required: 3})
	if !strings.Contains(got, "2 of 3 (Olive Ops, Vic Viewer)") || !strings.Contains(got, `"action_id":"approve"`) {
		t.Errorf("refreshed progress, with the buttons of an approver yet to decide, missing: %s", got)
	}
	got = render(t, r, &chat.State{Approvals: []string{"Casey Contoso"}, Required: 2})
	if !strings.Contains(got, "You approved; the request waits for 1 more approval.") || strings.Contains(got, `"type":"button"`) {
		t.Errorf("an approver whose approval counted is asked again: %s", got)
	}
}

// Under chat_decisions sign_in the one button is a link to the approval
// page; no button decides.
func TestSignInMessageLinksToThePage(t *testing.T) {
	r := request()
	r.Decisions, r.PageURL = chat.SignIn, "http://127.0.0.1:8080/assignments/a1"
	got := render(t, r, nil)
	if !strings.Contains(got, `"url":"http://127.0.0.1:8080/assignments/a1"`) || !strings.Contains(got, `"action_id":"open"`) {
		t.Errorf("no link to the page: %s", got)
	}
	if strings.Contains(got, `"action_id":"approve"`) || strings.Contains(got, `"action_id":"deny"`) {
		t.Errorf("a deciding button under sign_in: %s", got)
	}
}

// A settled request shows who settled it and when, and no buttons; an
// ended one says why.
func TestSettledMessageHasNoButtons(t *testing.T) {
	at := time.Date(2026, 12, 8, 14, 2, 0, 0, time.UTC)
	for _, tc := range []struct {
		st   chat.State
		want string
	}{
		{chat.State{Decided: true, Decision: "approved", DecidedBy: "Casey Contoso", DecidedAt: at}, fmt.Sprintf("Approved by Casey Contoso at \\u003c!date^%d^{time}|14:02 UTC\\u003e", at.Unix())},
		{chat.State{Decided: true, Decision: "denied", DecidedBy: "Olive Ops", DecidedAt: at}, "Denied by Olive Ops at"},
		{chat.State{Ended: "withdrawn"}, "This request was withdrawn; nothing is left to decide."},
	} {
		got := render(t, request(), &tc.st)
		if !strings.Contains(got, tc.want) {
			t.Errorf("%+v: lacks %q: %s", tc.st, tc.want, got)
		}
		if strings.Contains(got, `"type":"button"`) {
			t.Errorf("%+v: buttons left: %s", tc.st, got)
		}
	}
}

func TestButtonValueRoundTripsAndRefusesOthers(t *testing.T) {
	r := request()
	r.Extension = 2
	id, ext, approver, ok := parseButtonValue(buttonValue(r))
	if !ok || id != "a1" || ext != 2 || approver != "u-casey" {
		t.Fatalf("round trip: %q %d %q %v", id, ext, approver, ok)
	}
	for _, v := range []string{"", "a1", "a1/0", "a1/x/u", "a1/-1/u", "/0/u", "a1/0/", "a1/0/u/x"} {
		if _, _, _, ok := parseButtonValue(v); ok {
			t.Errorf("%q accepted", v)
		}
	}
}

func TestClipCutsAtARune(t *testing.T) {
	if got := clip("ééé", 3); got != "é…" {
		t.Fatalf("clip: %q", got)
	}
	if got := clip("abc", 3); got != "abc" {
		t.Fatalf("clip: %q", got)
	}
}
