package server_test

import (
	"strings"
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/testenv"
)

// The dev mailbox after two flows (issue 40: one page 9,316 px tall): its
// filter narrows to one recipient or one assignment, newest first, and
// each email shows its links with the body folded.
func TestDevMailboxFiltersByRecipientAndAssignmentNewestFirst(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	solo := e.Login("solo@partner.example")
	code, std, body := solo.Assign(demo.ContosoSite, demo.Solo, "", "Case 1: first")
	if code != 201 {
		t.Fatalf("assign: %d %s", code, body)
	}
	e.WaitState(std.ID, domain.StatePendingApproval, 10*time.Second)
	code, pro, body := solo.Assign(demo.FabrikamSite, demo.Solo, "", "Case 2: second")
	if code != 201 {
		t.Fatalf("assign: %d %s", code, body)
	}
	e.Eventually(10*time.Second, "the Professional emails", func() bool {
		return len(e.Mail(pro.ID, domain.EmailAVDInstructions, "solo@partner.example")) == 1
	})
	anon := e.Anonymous()

	// mails is the page's list of emails, after the filter's options.
	mails := func(page string) string { _, after, _ := strings.Cut(page, "</form>"); return after }
	_, all := anon.Page("/dev/mail")
	mustContain(t, "the mailbox", all, `id="mail-filter"`, `<option value="admin@contoso.example">`, `<option value="`+std.ID+`">`,
		`<option value="`+pro.ID+`">`, "<details><summary>Full text</summary>")
	if first, second := strings.Index(mails(all), "Case 2: second"), strings.Index(mails(all), "Case 1: first"); first < 0 || second < 0 || first > second {
		t.Errorf("the mailbox is not newest first (second flow at %d, first at %d)", first, second)
	}

	_, to := anon.Page("/dev/mail?to=admin@contoso.example")
	mustContain(t, "the mailbox to one approver", to, "Approve access to Contoso Sage 200 Standard", `<option value="admin@contoso.example" selected>`,
		`<ul class="mail-links"><li><a href="`+e.HTTP.URL+`/approvals/`)
	mustNotContain(t, "the mailbox to one approver", mails(to), "To <a class=\"to\" href=\"/dev/mail?to=solo@partner.example\"", "Case 2: second")

	_, of := anon.Page("/dev/mail?assignment=" + pro.ID)
	mustContain(t, "the mailbox of one assignment", of, "Case 2: second", `<option value="`+pro.ID+`" selected>`)
	mustNotContain(t, "the mailbox of one assignment", mails(of), "Case 1: first")

	_, none := anon.Page("/dev/mail?to=nobody@example.com")
	mustContain(t, "the mailbox filtered to nobody", none, "No mail matches.")

	// The API takes the same filter.
	code, js := anon.Page("/api/v1/dev/mail?assignment=" + pro.ID)
	if code != 200 || strings.Contains(js, "Case 1: first") || !strings.Contains(js, "Case 2: second") {
		t.Fatalf("GET /api/v1/dev/mail?assignment=: %d %s", code, js)
	}
}

// The pages a newcomer judged by their look (issue 40), as the handler
// writes them: the role list of a user with several roles, a revoked
// assignment's end, the approval's thank-you page, Professional's ready
// time, and the credential page's title.
func TestPagesANewcomerTrippedOn(t *testing.T) {
	tm := testenv.FastTiming
	tm.AccessDuration, tm.ReadyWait = time.Hour, 15*time.Minute
	e := testenv.New(t, testenv.Options{Timing: tm})
	agent := e.Login("agent@partner.example")

	_, page := agent.Page("/sites/" + demo.ContosoSite)
	mustContain(t, "the site page", page, `<option value="" id="role-none">Choose a user first</option>`)
	code, refused, _ := agent.Form("/sites/"+demo.ContosoSite+"/assignments", map[string]string{"user_id": demo.Agent, "reason": "Case 3"})
	if code != 422 {
		t.Fatalf("assign without a role: %d", code)
	}
	mustContain(t, "the R3 refusal", string(refused), `<option value="" id="role-none">Choose one of the user's roles…</option>`)
	mustNotContain(t, "the R3 refusal", string(refused), "The user's only role")

	code, a, body := agent.Assign(demo.ContosoSite, demo.Solo, "", "Case 4")
	if code != 201 {
		t.Fatalf("assign: %d %s", code, body)
	}
	e.WaitState(a.ID, domain.StatePendingApproval, 10*time.Second)
	code, done, _ := e.Anonymous().Form(e.ApprovalPath(a.ID, "admin@contoso.example"), map[string]string{"decision": "approve"})
	mustContain(t, "the thank-you page", string(done), `<a href="/assignments/`+a.ID+`">Open the assignment's page</a>`, `<a href="/requests">`)
	e.WaitState(a.ID, domain.StateActive, 10*time.Second)
	if code, body := agent.Do("DELETE", "/api/v1/assignments/"+a.ID, map[string]string{"reason": "done"}); code != 202 {
		t.Fatalf("unassign: %d %s", code, body)
	}
	ended := e.WaitState(a.ID, domain.StateRevoked, 10*time.Second)
	_, site := agent.Page("/sites/" + demo.ContosoSite)
	row := site[strings.Index(site, `/assignments/`+a.ID):]
	row = row[:strings.Index(row, "</tr>")]
	mustContain(t, "the revoked assignment's row", row, ended.EndedAt.UTC().Format("Mon 2 Jan 2006 15:04:05 UTC"))
	mustNotContain(t, "the revoked assignment's row", row, ended.AccessEndsAt.UTC().Format("Mon 2 Jan 2006 15:04:05 UTC"))
	_, ap := agent.Page("/assignments/" + a.ID)
	mustContain(t, "the revoked assignment's page", ap, "Access was to last until")

	solo := e.Login("solo@partner.example")
	code, p, body := solo.Assign(demo.FabrikamSite, demo.Solo, "", "Case 5")
	if code != 201 {
		t.Fatalf("assign: %d %s", code, body)
	}
	prov := e.WaitState(p.ID, domain.StateProvisioning, 10*time.Second)
	_, pp := solo.Page("/assignments/" + p.ID)
	mustContain(t, "the provisioning page", pp, `id="ready-at">about <time datetime="`+prov.UpdatedAt.Add(15*time.Minute).UTC().Format(time.RFC3339), "READY_WAIT")
	_, cred := solo.Page("/credentials/" + p.ID)
	mustContain(t, "the credential page", cred, "<h1>Your temporary password for Fabrikam Sage 200 Professional</h1>")
	if strings.Contains(cred, "Microsoft Entra ID login") {
		t.Error("the credential page is headed like Microsoft's sign-in page")
	}
}
