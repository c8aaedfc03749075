package policy

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Written is a policy as people write it: the directory file's policy:
// block, the API's body and what the store keeps. Durations are Go
// duration strings ("8h"), as everywhere in the configuration and the API;
// an absent field is not set.
type Written struct {
	Approvals       *int     `json:"approvals,omitempty" yaml:"approvals"`
	ApproverRoles   []string `json:"approver_roles,omitzero" yaml:"approver_roles"`
	AccessDuration  string   `json:"access_duration,omitempty" yaml:"access_duration"`
	MaxDuration     string   `json:"max_duration,omitempty" yaml:"max_duration"`
	MaxExtensions   *int     `json:"max_extensions,omitempty" yaml:"max_extensions"`
	ApprovalTimeout string   `json:"approval_timeout,omitempty" yaml:"approval_timeout"`
	MaxLead         string   `json:"max_lead,omitempty" yaml:"max_lead"`
	ReasonPattern   *string  `json:"reason_pattern,omitempty" yaml:"reason_pattern"`
	ReasonExample   *string  `json:"reason_example,omitempty" yaml:"reason_example"`
	// AutoApprove: absent inherits, an empty list approves nobody in
	// advance (omitzero keeps [] apart from absent).
	AutoApprove          []WrittenRule `json:"auto_approve,omitzero" yaml:"auto_approve"`
	ProfessionalApproval *bool         `json:"professional_approval,omitempty" yaml:"professional_approval"`
	// ChatDecisions is what a chat's buttons do (SPEC §14): in_chat
	// decides there, sign_in opens the approval page behind login.
	ChatDecisions string `json:"chat_decisions,omitempty" yaml:"chat_decisions"`
}

// WrittenRule is an auto_approve rule as written.
type WrittenRule struct {
	Users       []string `json:"users,omitempty" yaml:"users"`
	Roles       []string `json:"roles,omitempty" yaml:"roles"`
	MaxDuration string   `json:"max_duration,omitempty" yaml:"max_duration"`
}

// Fields are the written fields in the order SPEC §13 gives them; the
// directory file's shape and the API document list them so.
var Fields = []string{"approvals", "approver_roles", "access_duration", "max_duration", "max_extensions", "approval_timeout",
	"max_lead", "reason_pattern", "reason_example", "auto_approve", "professional_approval", "chat_decisions"}

// RuleFields are an auto_approve rule's fields.
var RuleFields = []string{"users", "roles", "max_duration"}

// Limits are what a written policy is checked against.
type Limits struct {
	// Ceiling is POLICY_MAX_DURATION: no duration of a policy passes it.
	Ceiling time.Duration
	// Inherited is what the policy sets fields over: the defaults for a
	// customer's, the customer's in force for a site's. Cross-field checks
	// (max_duration ≥ access_duration, an example for the pattern) are made
	// on the result.
	Inherited Effective
	// ApproverRoles are the customer roles that approve (R4).
	ApproverRoles []string
	// PartnerRoles are the partner roles an auto_approve rule may name.
	PartnerRoles []string
	// PartnerUsers are the IDs of the customer's partner's users, whom an
	// auto_approve rule may name.
	PartnerUsers []string
}

// Problem is one field of a policy at fault, e.g. "auto_approve[1].roles[0]".
type Problem struct {
	Field string
	Text  string
}

func (p Problem) String() string { return p.Field + ": " + p.Text }

// MaxPatternLen and MaxExampleLen bound the free text of a policy.
const (
	MaxPatternLen = 200
	MaxExampleLen = 200
)

// Check reads a written policy, checking every field; it returns the
// policy and every problem found (none: the policy may be stored).
func Check(w Written, l Limits) (Policy, []Problem) {
	p, ps := read(w, &checker{l: l, strict: true})
	if len(ps) == 0 {
		ps = (&checker{l: l}).whole(l.Inherited.With(p))
	}
	return p, ps
}

// Parse reads a written policy that was checked when it was stored: only
// what cannot be read at all is an error.
func Parse(w Written) (Policy, error) {
	p, ps := read(w, &checker{})
	if len(ps) > 0 {
		return p, fmt.Errorf("policy: %s", ps[0])
	}
	return p, nil
}

// read turns a written policy into a Policy; a strict checker also checks
// each field against the limits.
func read(w Written, c *checker) (Policy, []Problem) {
	var p Policy
	p.Approvals = c.count("approvals", w.Approvals, 1)
	if w.ApproverRoles != nil {
		if len(w.ApproverRoles) == 0 && c.strict {
			c.bad("approver_roles", "names nobody: give at least one of %s, or leave it out", strings.Join(c.l.ApproverRoles, ", "))
		}
		for i, r := range w.ApproverRoles {
			if c.strict && !slices.Contains(c.l.ApproverRoles, r) {
				c.bad(fmt.Sprintf("approver_roles[%d]", i), "%q is not a customer role that approves; the roles are %s", r, strings.Join(c.l.ApproverRoles, ", "))
			}
		}
		p.ApproverRoles = slices.Clone(w.ApproverRoles)
	}
	p.AccessDuration = c.duration("access_duration", w.AccessDuration, false)
	p.MaxDuration = c.duration("max_duration", w.MaxDuration, false)
	p.MaxExtensions = c.count("max_extensions", w.MaxExtensions, 0)
	p.ApprovalTimeout = c.duration("approval_timeout", w.ApprovalTimeout, false)
	p.MaxLead = c.duration("max_lead", w.MaxLead, true)
	if w.ReasonPattern != nil {
		switch _, err := regexp.Compile(*w.ReasonPattern); {
		case *w.ReasonPattern == "":
		case c.strict && utf8.RuneCountInString(*w.ReasonPattern) > MaxPatternLen:
			c.bad("reason_pattern", "is too long: at most %d characters", MaxPatternLen)
		case err != nil:
			c.bad("reason_pattern", "is not a regular expression (RE2 syntax): %s", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		}
		p.ReasonPattern = w.ReasonPattern
	}
	if w.ReasonExample != nil {
		if c.strict && utf8.RuneCountInString(*w.ReasonExample) > MaxExampleLen || strings.ContainsFunc(*w.ReasonExample, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			c.bad("reason_example", "must be one line of at most %d characters", MaxExampleLen)
		}
		p.ReasonExample = w.ReasonExample
	}
	if w.AutoApprove != nil {
		p.AutoApprove = make([]AutoApprove, len(w.AutoApprove))
		for i, r := range w.AutoApprove {
			p.AutoApprove[i] = c.rule(fmt.Sprintf("auto_approve[%d]", i), r)
		}
	}
	p.ProfessionalApproval = w.ProfessionalApproval
	if w.ChatDecisions != "" {
		if w.ChatDecisions != ChatInChat && w.ChatDecisions != ChatSignIn {
			c.bad("chat_decisions", "must be %s (the buttons decide) or %s (the buttons open the approval page behind login), not %q",
				ChatInChat, ChatSignIn, w.ChatDecisions)
		}
		p.ChatDecisions = &w.ChatDecisions
	}
	return p, c.problems
}

type checker struct {
	l        Limits
	strict   bool
	problems []Problem
}

func (c *checker) bad(field, format string, args ...any) {
	c.problems = append(c.problems, Problem{Field: field, Text: fmt.Sprintf(format, args...)})
}

func (c *checker) count(field string, n *int, least int) *int {
	if n != nil && *n < least {
		c.bad(field, "must be %d or more, not %d", least, *n)
	}
	return n
}

// duration reads a duration above zero (or zero, when zeroOK) and at most
// the ceiling.
func (c *checker) duration(field, text string, zeroOK bool) *time.Duration {
	if text == "" {
		return nil
	}
	d, err := time.ParseDuration(strings.TrimSpace(text))
	switch {
	case err != nil:
		c.bad(field, "%q is not a duration like 8h or 90m", text)
	case d < 0 || (d == 0 && !zeroOK):
		c.bad(field, "must be more than nothing, not %s", text)
	case c.strict && d > c.l.Ceiling:
		c.bad(field, "%s is more than POLICY_MAX_DURATION (%s), the most any policy may give", Duration(d), Duration(c.l.Ceiling))
	}
	return &d
}

func (c *checker) rule(path string, r WrittenRule) AutoApprove {
	if !c.strict {
		return c.ruleOf(path, r)
	}
	if len(r.Users) == 0 && len(r.Roles) == 0 {
		c.bad(path, "names nobody: give users (partner users' IDs), roles (partner roles), or both")
	}
	for i, u := range r.Users {
		if !slices.Contains(c.l.PartnerUsers, u) {
			c.bad(fmt.Sprintf("%s.users[%d]", path, i), "%q is not a user of the customer's partner", u)
		}
	}
	for i, role := range r.Roles {
		if !slices.Contains(c.l.PartnerRoles, role) {
			c.bad(fmt.Sprintf("%s.roles[%d]", path, i), "%q is not a partner role; the roles are %s", role, strings.Join(c.l.PartnerRoles, ", "))
		}
	}
	return c.ruleOf(path, r)
}

func (c *checker) ruleOf(path string, r WrittenRule) AutoApprove {
	a := AutoApprove{Users: slices.Clone(r.Users), Roles: slices.Clone(r.Roles)}
	if d := c.duration(path+".max_duration", r.MaxDuration, false); d != nil {
		a.MaxDuration = *d
	}
	return a
}

// whole checks what only the policy in force shows.
func (c *checker) whole(e Effective) []Problem {
	if e.MaxDuration < e.AccessDuration {
		c.bad("max_duration", "%s is less than access_duration (%s): a request that names no duration would break it", Duration(e.MaxDuration), Duration(e.AccessDuration))
	}
	for i, r := range e.AutoApprove {
		if r.MaxDuration > e.MaxDuration {
			c.bad(fmt.Sprintf("auto_approve[%d].max_duration", i), "%s is more than max_duration (%s): no request may ask for that long", Duration(r.MaxDuration), Duration(e.MaxDuration))
		}
	}
	re, err := regexp.Compile(e.ReasonPattern)
	if e.ReasonPattern == "" || err != nil { // an inherited pattern at fault is its own policy's problem
		return c.problems
	}
	switch {
	case e.ReasonExample == "":
		c.bad("reason_example", "is required with reason_pattern: it is shown on the form and with a refusal")
	case !re.MatchString(e.ReasonExample):
		c.bad("reason_example", "%q does not match reason_pattern %s", e.ReasonExample, e.ReasonPattern)
	}
	return c.problems
}

// Decode reads a policy as the store keeps it ("" or "{}": none).
func Decode(text string) (Written, error) {
	var w Written
	if text == "" {
		return w, nil
	}
	if err := json.Unmarshal([]byte(text), &w); err != nil {
		return w, fmt.Errorf("policy: %w", err)
	}
	return w, nil
}

// Encode is w as the store keeps it ("" for none).
func (w Written) Encode() string {
	if w.IsZero() {
		return ""
	}
	b, _ := json.Marshal(w) // strings, ints and bools only
	return string(b)
}

// IsZero reports whether w sets nothing.
func (w Written) IsZero() bool { return reflect.ValueOf(w).IsZero() }

// Changed lists the fields whose values differ between a and b, in the
// order of Fields.
func Changed(a, b Written) []string {
	var am, bm map[string]json.RawMessage
	ab, _ := json.Marshal(a)
	bb, _ := json.Marshal(b)
	json.Unmarshal(ab, &am)
	json.Unmarshal(bb, &bm)
	var out []string
	for _, f := range Fields {
		if string(am[f]) != string(bm[f]) {
			out = append(out, f)
		}
	}
	return out
}

// Duration writes d as briefly as Go reads it back: 24h, 1h30m, 90s.
func Duration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
