package policy_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/internal/policy"
)

func ptr[T any](v T) *T { return &v }

var limits = policy.Limits{
	Ceiling:       720 * time.Hour,
	Inherited:     policy.Defaults(72*time.Hour, 168*time.Hour, 2, []string{"Customer Administrator", "Customer Operations Agent"}),
	ApproverRoles: []string{"Customer Administrator", "Customer Operations Agent"},
	PartnerRoles:  []string{"Partner Support Agent", "Partner Consultant"},
	PartnerUsers:  []string{"northwind-solo"},
}

func TestR10_CheckListsEveryProblem(t *testing.T) {
	bad := policy.Written{
		Approvals:       ptr(0),
		ApproverRoles:   []string{"Partner Consultant"},
		AccessDuration:  "eight hours",
		MaxDuration:     "1000h",
		MaxExtensions:   ptr(-1),
		ApprovalTimeout: "-1h",
		MaxLead:         "-2h",
		ReasonPattern:   ptr("^(CS"),
		AutoApprove:     []policy.WrittenRule{{}, {Users: []string{"mallory"}, Roles: []string{"Customer Administrator"}, MaxDuration: "0s"}},
	}
	_, ps := policy.Check(bad, limits)
	var fields []string
	for _, p := range ps {
		fields = append(fields, p.Field)
	}
	want := []string{"approvals", "approver_roles[0]", "access_duration", "max_duration", "max_extensions", "approval_timeout", "max_lead",
		"reason_pattern", "auto_approve[0]", "auto_approve[1].users[0]", "auto_approve[1].roles[0]", "auto_approve[1].max_duration"}
	if !slices.Equal(fields, want) {
		t.Fatalf("fields at fault = %q, want %q\n%v", fields, want, ps)
	}
}

func TestR10_CheckWhole(t *testing.T) {
	for _, tc := range []struct {
		name  string
		w     policy.Written
		field string
	}{
		{"max below access", policy.Written{AccessDuration: "8h", MaxDuration: "4h"}, "max_duration"},
		{"max below the inherited access", policy.Written{MaxDuration: "4h"}, "max_duration"},
		{"pattern without example", policy.Written{ReasonPattern: ptr("^CS-")}, "reason_example"},
		{"example not matching", policy.Written{ReasonPattern: ptr("^CS-[0-9]+"), ReasonExample: ptr("month-end")}, "reason_example"},
		{"auto cap over max", policy.Written{AccessDuration: "8h", MaxDuration: "24h", AutoApprove: []policy.WrittenRule{{Roles: []string{"Partner Consultant"}, MaxDuration: "48h"}}}, "auto_approve[0].max_duration"},
		{"nobody approves", policy.Written{ApproverRoles: []string{}}, "approver_roles"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, ps := policy.Check(tc.w, limits)
			if len(ps) != 1 || ps[0].Field != tc.field {
				t.Fatalf("problems = %v, want one on %s", ps, tc.field)
			}
		})
	}
}

func TestCheckGood(t *testing.T) {
	w := policy.Written{Approvals: ptr(2), ApproverRoles: []string{"Customer Administrator"}, AccessDuration: "8h", MaxDuration: "24h",
		MaxExtensions: ptr(1), ApprovalTimeout: "48h", MaxLead: "0", ReasonPattern: ptr(`^(CS|INC)-[0-9]{4,}`), ReasonExample: ptr("CS-1234: month-end upgrade"),
		AutoApprove: []policy.WrittenRule{{Users: []string{"northwind-solo"}}, {Roles: []string{"Partner Consultant"}, MaxDuration: "4h"}}}
	p, ps := policy.Check(w, limits)
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	e := limits.Inherited.With(p)
	if e.Approvals != 2 || e.MaxDuration != 24*time.Hour || e.MaxLead != 0 || e.AutoApproval("someone", "Partner Consultant", 4*time.Hour) != 1 {
		t.Fatalf("effective = %+v", e)
	}
	back, err := policy.Decode(w.Encode())
	if err != nil || len(policy.Changed(w, back)) > 0 {
		t.Fatalf("stored and read back: %+v, %v", back, err)
	}
	if got := policy.Changed(w, policy.Written{Approvals: ptr(2)}); len(got) != 9 || got[0] != "approver_roles" {
		t.Fatalf("changed = %q", got)
	}
	words := e.Words("Contoso", true)
	if !strings.HasPrefix(words, "Contoso asks for 2 approvals, at most 24 h, and a reason like “CS-1234: month-end upgrade”") {
		t.Fatalf("words = %q", words)
	}
}

func TestEmptyAutoApproveIsKept(t *testing.T) {
	w, err := policy.Decode(`{"auto_approve":[]}`)
	if err != nil || w.AutoApprove == nil || w.Encode() != `{"auto_approve":[]}` {
		t.Fatalf("%+v %q %v", w, w.Encode(), err)
	}
	if (policy.Written{}).Encode() != "" {
		t.Fatal("an empty policy is stored as nothing")
	}
}

// TestChatDecisionsIsInChatOrSignIn: chat_decisions takes in_chat or
// sign_in (R10), in_chat by default, and a site's overrides its customer's.
func TestChatDecisionsIsInChatOrSignIn(t *testing.T) {
	defaults := policy.Defaults(72*time.Hour, 168*time.Hour, 1, nil)
	if defaults.ChatDecisions != policy.ChatInChat {
		t.Fatalf("default %q", defaults.ChatDecisions)
	}
	_, ps := policy.Check(policy.Written{ChatDecisions: "maybe"}, policy.Limits{Ceiling: 720 * time.Hour, Inherited: defaults})
	if len(ps) != 1 || ps[0].Field != "chat_decisions" || !strings.Contains(ps[0].Text, "in_chat") {
		t.Fatalf("problems %v", ps)
	}
	p, ps := policy.Check(policy.Written{ChatDecisions: policy.ChatSignIn}, policy.Limits{Ceiling: 720 * time.Hour, Inherited: defaults})
	if len(ps) != 0 || defaults.With(p).ChatDecisions != policy.ChatSignIn {
		t.Fatalf("sign_in: %v %+v", ps, p)
	}
}
