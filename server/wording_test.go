package server_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/testenv"
)

// The pages speak to people: names, not IDs; times and durations as
// people write them; pending requests for more time beside first requests;
// the Temporal UI only for the partner's side.
func TestPagesSpeakInNamesAndPeoplesTimes(t *testing.T) {
	tm := extensionTiming
	tm.AccessDuration, tm.ExpiryWarning = 72*time.Hour, time.Minute
	e := testenv.New(t, testenv.Options{Timing: tm})
	a := approvedStandard(t, e)
	solo := e.Login("solo@partner.example")
	if code, body := askMore(solo, a.ID, "24h", "the upgrade overran"); code != http.StatusAccepted {
		t.Fatalf("ask for more: %d %s", code, body)
	}
	extensionLink(t, e, a.ID, "ops@contoso.example", 1)

	admin := e.Login("admin@contoso.example")
	_, page := admin.Page("/assignments/" + a.ID)
	for _, want := range []string{"Sam Solo asks for <strong>1 day</strong> more", "by Sam Solo</td>", `<time datetime="`,
		"Alex Agent asked for Sam Solo to reach Contoso Sage 200 Standard", "Access granted", ">sent (to the dev mailbox)<"} {
		if !strings.Contains(page, want) {
			t.Errorf("the customer's assignment page lacks %q", want)
		}
	}
	for _, unwanted := range []string{"northwind-solo", "24h0m0s", "Approval deadline", "workflow-link", "access_granted", ">local<"} {
		if strings.Contains(page, unwanted) {
			t.Errorf("the customer's assignment page shows %q", unwanted)
		}
	}
	if m := regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[^"]*Z`).FindAllString(stripAttributes(page), -1); len(m) > 0 {
		t.Errorf("machine timestamps in the page's text: %v", m)
	}
	_, page = admin.Page("/requests")
	if !strings.Contains(page, `id="pending-extensions"`) || !strings.Contains(page, "the upgrade overran") || !strings.Contains(page, "1 day") ||
		!strings.Contains(page, `name="extension" value="1"`) {
		t.Errorf("the pending requests page leaves out the request for more time:\n%s", page)
	}
	_, page = e.Login("agent@partner.example").Page("/assignments/" + a.ID)
	if strings.Contains(page, `id="workflow-link"`) {
		t.Error("a partner agent sees the link to the workflow in the Temporal UI, which is for those who run the service")
	}
	_, page = e.Login("admin@partner.example").Page("/assignments/" + a.ID)
	if !strings.Contains(page, `id="workflow-link"`) {
		t.Error("the partner's administrator sees no link to the workflow in the Temporal UI")
	}

	// The approver's page for more time names who asks, and a link
	// opened again after the decision says calmly who decided and when.
	link := extensionLink(t, e, a.ID, "admin@contoso.example", 1)
	_, page = e.Anonymous().Page(link)
	if !strings.Contains(page, "Sam Solo asks for <strong>1 day</strong> more") {
		t.Errorf("the approval page for more time:\n%s", page)
	}
	if code, done, _ := e.Anonymous().Form(link, map[string]string{"decision": "approve"}); code != http.StatusOK ||
		!strings.Contains(string(done), "You approved 1 day more for Sam Solo on Contoso Sage 200 Standard") {
		t.Fatalf("approve more time: %d\n%s", code, done)
	}
	code := 0
	e.Eventually(10*time.Second, "the decision recorded", func() bool {
		code, page = e.Anonymous().Page(link)
		return strings.Contains(page, "Already approved by ")
	})
	if code != http.StatusConflict || !strings.Contains(page, "Already approved by Casey Contoso on ") || strings.Contains(page, `role="alert"`) {
		t.Errorf("the decided link opened again: %d\n%s", code, page)
	}

	// A partner user who assigns themselves asks, not "asks for themselves".
	agent := e.Login("agent@partner.example")
	code, self, body := agent.Assign(demo.FabrikamSite, demo.Agent, "Partner Consultant", "Case 9")
	if code != http.StatusCreated {
		t.Fatalf("assign: %d %s", code, body)
	}
	e.WaitState(self.ID, domain.StateActive, 10*time.Second)
	_, page = agent.Page("/assignments/" + self.ID)
	if !strings.Contains(page, "Alex Agent asked to reach Fabrikam") || strings.Contains(page, "asked for Alex Agent") {
		t.Errorf("self-assignment in the timeline:\n%s", page)
	}
	if !strings.Contains(page, "someone unassigns it") || strings.Contains(page, "no automatic removal") {
		t.Errorf("Professional access's end:\n%s", page)
	}
}

// stripAttributes leaves a page's text and tags without attribute values
// (a datetime attribute is for machines).
func stripAttributes(page string) string {
	return regexp.MustCompile(`="[^"]*"`).ReplaceAllString(page, "")
}
