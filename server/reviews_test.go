package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/testenv"
)

type reviewJSON struct {
	ID      string `json:"id"`
	State   string `json:"state"`
	Pending int    `json:"pending"`
	Items   []struct {
		ID        string `json:"id"`
		Kind      string `json:"kind"`
		SubjectID string `json:"subject_id"`
		Decision  string `json:"decision"`
		Outcome   string `json:"outcome"`
	} `json:"items"`
}

func (r reviewJSON) item(t *testing.T, subject string) string {
	t.Helper()
	for _, it := range r.Items {
		if it.SubjectID == subject {
			return it.ID
		}
	}
	t.Fatalf("review %s has no item about %s: %+v", r.ID, subject, r.Items)
	return ""
}

// longAccess keeps Standard access open for the length of a test.
func longAccess() testenv.Options {
	t := testenv.FastTiming
	t.AccessDuration = time.Hour
	return testenv.Options{Timing: t}
}

func reviewsOf(t *testing.T, e *testenv.Env, org string) int {
	t.Helper()
	rs, err := e.Store.Reviews(context.Background(), org)
	if err != nil {
		t.Fatal(err)
	}
	return len(rs)
}

// TestReviewStartedByHandRefusesOthersAndBadInput: only an administrator
// of the organization starts its review; bad input changes nothing.
func TestReviewStartedByHandRefusesOthersAndBadInput(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	admin, agent, contoso := e.Login("admin@partner.example"), e.Login("agent@partner.example"), e.Login("admin@contoso.example")
	for _, c := range []struct {
		name  string
		who   *testenv.Session
		body  string
		code  int
		field string
	}{
		{"a partner administrator reviews a customer", admin, `{"organization":"` + demo.Contoso + `"}`, 403, ""},
		{"a customer administrator reviews its partner", contoso, `{"organization":"` + demo.Northwind + `"}`, 403, ""},
		{"not an administrator", agent, `{"organization":"` + demo.Northwind + `"}`, 403, ""},
		{"no organization", admin, `{}`, 400, "organization"},
		{"due_in not a duration", admin, `{"organization":"` + demo.Northwind + `","due_in":"a month"}`, 400, "due_in"},
		{"due_in too long", admin, `{"organization":"` + demo.Northwind + `","due_in":"9000h"}`, 400, "due_in"},
		{"unknown field", admin, `{"organization":"` + demo.Northwind + `","items":[]}`, 400, "items"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, body := c.who.Do("POST", "/api/v1/reviews", c.body)
			var p struct{ Field string }
			json.Unmarshal(body, &p)
			if code != c.code || p.Field != c.field {
				t.Fatalf("%d %s", code, body)
			}
		})
	}
	if n := reviewsOf(t, e, demo.Northwind) + reviewsOf(t, e, demo.Contoso); n != 0 {
		t.Fatalf("refused starts left %d reviews", n)
	}

	code, body := admin.Do("POST", "/api/v1/reviews", `{"organization":"`+demo.Northwind+`","due_in":"240h"}`)
	var r reviewJSON
	if code != http.StatusCreated || json.Unmarshal(body, &r) != nil || len(r.Items) != 3 || r.State != "open" || r.Pending != 3 {
		t.Fatalf("start: %d %s", code, body)
	}
	if code, body := admin.Do("POST", "/api/v1/reviews", `{"organization":"`+demo.Northwind+`"}`); code != http.StatusConflict {
		t.Fatalf("a second open review: %d %s", code, body)
	}
	if code, body := contoso.Do("GET", "/api/v1/reviews/"+r.ID, nil); code != http.StatusNotFound {
		t.Fatalf("another organization's review: %d %s", code, body)
	}
	if code, body := agent.Do("GET", "/api/v1/reviews", nil); code != http.StatusForbidden {
		t.Fatalf("a non-administrator lists reviews: %d %s", code, body)
	}
	e.Eventually(10*time.Second, "the review request email", func() bool {
		ms, _ := e.Store.Emails(context.Background(), store.EmailFilter{To: "admin@partner.example", Limit: 50})
		for _, m := range ms {
			if m.Kind == string(domain.EmailReviewRequest) && strings.Contains(m.Text, "/reviews/"+r.ID) {
				return true
			}
		}
		return false
	})
	for _, c := range []struct{ body, code string }{{`{"decision":"maybe"}`, "400"}, {`{"decision":true}`, "400"}, {`{}`, "400"}} {
		if code, body := admin.Do("POST", "/api/v1/reviews/"+r.ID+"/items/1", c.body); http.StatusText(code) != http.StatusText(400) {
			t.Errorf("%s: %d %s", c.body, code, body)
		}
	}
	if code, _ := admin.Do("POST", "/api/v1/reviews/"+r.ID+"/items/99", `{"decision":"keep"}`); code != http.StatusNotFound {
		t.Errorf("unknown item: %d", code)
	}
	if code, _ := contoso.Do("POST", "/api/v1/reviews/"+r.ID+"/items/1", `{"decision":"remove"}`); code != http.StatusNotFound {
		t.Errorf("another organization decides: %d", code)
	}
	got, err := e.Store.ReviewByID(context.Background(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range got.Items {
		if it.Decision != "" {
			t.Errorf("refused decisions changed item %s: %+v", it.ID, it)
		}
	}
}

// TestReviewRemovalSuspendsAndEndsOpenAccess: through the real handler,
// worker and Temporal, removing a user in a review suspends them and ends
// their open access; keeping the rest finishes the review, whose report
// stays in the store and the API.
func TestReviewRemovalSuspendsAndEndsOpenAccess(t *testing.T) {
	e := testenv.New(t, longAccess())
	a := approvedStandard(t, e)
	admin := e.Login("admin@partner.example")
	code, body := admin.Do("POST", "/api/v1/reviews", `{"organization":"`+demo.Northwind+`"}`)
	var r reviewJSON
	if code != http.StatusCreated || json.Unmarshal(body, &r) != nil {
		t.Fatalf("start: %d %s", code, body)
	}
	code, body = admin.Do("POST", "/api/v1/reviews/"+r.ID+"/items/"+r.item(t, demo.Solo), `{"decision":"remove"}`)
	if code != http.StatusOK || !strings.Contains(string(body), `"decision":"remove"`) || !strings.Contains(string(body), "suspended") {
		t.Fatalf("remove: %d %s", code, body)
	}
	ended := e.WaitState(a.ID, domain.StateRevoked, 20*time.Second)
	if ended.EndReason == "" {
		t.Errorf("ended without a reason: %+v", ended)
	}
	if u, _ := e.Store.UserByID(context.Background(), demo.Solo); u.Status != store.StatusSuspended {
		t.Errorf("Sam is %s", u.Status)
	}
	if code, body := admin.Do("POST", "/api/v1/reviews/"+r.ID+"/items/"+r.item(t, demo.Solo), `{"decision":"keep"}`); code != http.StatusConflict {
		t.Errorf("deciding twice: %d %s", code, body)
	}
	for _, id := range []string{demo.PartnerAdmin, demo.Agent} {
		if code, body := admin.Do("POST", "/api/v1/reviews/"+r.ID+"/items/"+r.item(t, id), `{"decision":"keep"}`); code != http.StatusOK {
			t.Fatalf("keep %s: %d %s", id, code, body)
		}
	}
	e.Eventually(10*time.Second, "the review finished", func() bool {
		_, body := admin.Do("GET", "/api/v1/reviews/"+r.ID, nil)
		return json.Unmarshal(body, &r) == nil && r.State == "finished"
	})
	if r.Pending != 0 || len(r.Items) != 3 {
		t.Fatalf("report %+v", r)
	}
	entries, _ := e.Store.AuditLog(context.Background(), store.AuditFilter{PartnerID: demo.Northwind, Limit: 500})
	n := map[domain.Action]int{}
	for _, en := range entries {
		n[en.Action]++
	}
	if n[domain.ActionReviewKept] != 2 || n[domain.ActionReviewRemoved] != 1 || n[domain.ActionReviewFinished] != 1 {
		t.Errorf("audited %v", n)
	}
}

// TestPermissionUntilThroughTheAPI: a customer administrator grants until a
// date; bad input and other callers are refused, changing nothing.
func TestPermissionUntilThroughTheAPI(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	admin, partner := e.Login("admin@contoso.example"), e.Login("admin@partner.example")
	path := "/api/v1/customers/" + demo.Contoso + "/partner-permission"
	for _, c := range []struct {
		who   *testenv.Session
		body  string
		code  int
		field string
	}{
		{admin, `{"until":"next week"}`, 400, "until"},
		{admin, `{"until":"2001-01-01T00:00:00Z"}`, 422, "until"},
		{admin, `{"until":"2099-01-01T00:00:00Z"}`, 422, "until"},
		{admin, `{"until":""}`, 400, "until"},
		{admin, `{"untill":"2030-01-01T00:00:00Z"}`, 400, "untill"},
		{partner, `{"until":"` + time.Now().Add(48*time.Hour).UTC().Format(time.RFC3339) + `"}`, 403, ""},
	} {
		code, body := c.who.Do("PUT", path, c.body)
		var p struct{ Field string }
		json.Unmarshal(body, &p)
		if code != c.code || p.Field != c.field {
			t.Errorf("%s: %d %s", c.body, code, body)
		}
	}
	if p, err := e.Store.PermissionOf(context.Background(), demo.Contoso, demo.Northwind); err != nil || p.GrantedUntil != nil {
		t.Fatalf("refusals changed the permission: %+v %v", p, err)
	}
	until := time.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Second)
	code, body := admin.Do("PUT", path, `{"until":"`+until.Format(time.RFC3339)+`"}`)
	if code != http.StatusOK || !strings.Contains(string(body), until.Format(time.RFC3339)) {
		t.Fatalf("grant until: %d %s", code, body)
	}
	if _, page := admin.Page("/sites"); !strings.Contains(page, `id="permission-until"`) || !strings.Contains(page, "The permission ends at") {
		t.Fatalf("permissions page lacks the end:\n%s", page)
	}
	// Renewing from a reminder, 20 days into a 30-day grant, ends it 30 days from now.
	until = time.Now().Add(10 * 24 * time.Hour).UTC().Truncate(time.Second)
	if err := e.Store.GrantPermissionUntil(context.Background(), demo.Contoso, demo.Northwind, until, demo.ContosoAdmin,
		until.Add(-30*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := admin.Form("/customers/"+demo.Contoso+"/permission/renew", nil); code != http.StatusSeeOther {
		t.Fatalf("renew: %d", code)
	}
	p, err := e.Store.PermissionOf(context.Background(), demo.Contoso, demo.Northwind)
	if err != nil || p.GrantedUntil == nil || p.GrantedUntil.Sub(until) < 19*24*time.Hour {
		t.Fatalf("renewal did not move the end: %+v %v", p, err)
	}
	if code, body := admin.Do("PUT", path, nil); code != http.StatusOK {
		t.Fatalf("grant without end: %d %s", code, body)
	}
	if p, _ := e.Store.PermissionOf(context.Background(), demo.Contoso, demo.Northwind); p.GrantedUntil != nil {
		t.Errorf("a grant without end kept the end %v", p.GrantedUntil)
	}
}
