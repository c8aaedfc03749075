package directory

import (
	"context"
	"errors"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/store"
)

// An organization's access reviews and a permission's end (SPEC §15).

// Review is an organization's own review settings: how often (every), how
// long its administrators have to decide (due_in), and what becomes of
// what nobody confirmed (on_missed: suspend, the default, or report). A
// field left out takes 2160h, 720h and suspend; no block leaves the
// stored settings as they are.
type Review struct {
	Every    string `yaml:"every"`
	DueIn    string `yaml:"due_in"`
	OnMissed string `yaml:"on_missed"`
}

// Permission is a customer's permission for its partner: "granted", or a
// mapping {granted_until: <RFC 3339 or a date>} for one that ends then.
type Permission struct {
	Value        string // "granted", or "" to leave it as it is
	GrantedUntil string
	block        bool // written as a mapping
}

// UnmarshalYAML takes either form.
func (p *Permission) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		return n.Decode(&p.Value)
	}
	var m struct {
		GrantedUntil string `yaml:"granted_until"`
	}
	if err := n.Decode(&m); err != nil {
		return err
	}
	p.Value, p.GrantedUntil, p.block = PermissionGranted, m.GrantedUntil, true
	return nil
}

var (
	reviewShape     = &shape{what: "a review block", fields: []string{"every", "due_in", "on_missed"}}
	permissionShape = &shape{what: "a permission block", fields: []string{"granted_until"}}
)

// Bounds of the review settings.
const (
	minReviewEvery = 24 * time.Hour
	minReviewDueIn = time.Hour
	// DefaultReviewEvery and DefaultReviewDueIn are every and due_in left
	// out of a review block (REVIEW_EVERY's default, 30 days).
	DefaultReviewEvery = 90 * 24 * time.Hour
	DefaultReviewDueIn = 30 * 24 * time.Hour
)

// review checks an organization's review block.
func (c *checker) review(path string, r *Review) {
	if r == nil {
		return
	}
	every, due := time.Duration(0), time.Duration(0)
	if r.Every != "" {
		d, err := time.ParseDuration(r.Every)
		if err != nil || d < minReviewEvery {
			c.bad(path+".every", "%q must be a duration of at least 24h, e.g. 2160h (90 days)", r.Every)
		}
		every = d
	}
	if r.DueIn != "" {
		d, err := time.ParseDuration(r.DueIn)
		if err != nil || d < minReviewDueIn {
			c.bad(path+".due_in", "%q must be a duration of at least 1h, e.g. 720h (30 days)", r.DueIn)
		}
		due = d
	}
	if every > 0 && due >= every {
		c.bad(path+".due_in", "%s must be shorter than every (%s): a review ends before the next one starts", r.DueIn, r.Every)
	}
	switch r.OnMissed {
	case "", store.OnMissedSuspend, store.OnMissedReport:
	default:
		c.bad(path+".on_missed", "%q must be %s or %s", r.OnMissed, store.OnMissedSuspend, store.OnMissedReport)
	}
}

// permissionUntil checks a permission's end: a time in RFC 3339, or a
// date (it then ends at that day's end, UTC).
func (c *checker) permissionUntil(path string, p Permission) {
	if !p.block {
		return
	}
	if p.GrantedUntil == "" {
		c.bad(path+".granted_until", "is required in a permission block; write permission: granted for one without end")
	} else if _, err := parseUntil(p.GrantedUntil); err != nil {
		c.bad(path+".granted_until", "%q must be a time in RFC 3339 (2027-03-31T18:00:00Z) or a date (2027-03-31)", p.GrantedUntil)
	}
}

func parseUntil(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	d, err := time.Parse(time.DateOnly, s)
	return d.Add(24*time.Hour - time.Second), err
}

// reviewSettings plans an organization's review settings.
func (pl *plan) reviewSettings(orgID string, r *Review) {
	if r == nil {
		return
	}
	rs := store.ReviewSettings{OrgID: orgID, Every: DefaultReviewEvery, DueIn: DefaultReviewDueIn, OnMissed: store.OnMissedSuspend}
	if r.Every != "" {
		rs.Every, _ = time.ParseDuration(r.Every)
	}
	if r.DueIn != "" {
		rs.DueIn, _ = time.ParseDuration(r.DueIn)
	}
	if r.OnMissed != "" {
		rs.OnMissed = r.OnMissed
	}
	pl.add(func(ctx context.Context, a *applier) error { return a.st.PutReviewSettings(ctx, rs) })
}

// permissionUntilPlan grants a customer's permission until its end, unless
// it is so already; an end that has passed is a problem.
func (c *checker) permissionUntilPlan(ctx context.Context, st Reader, pl *plan, path, customerID, partnerID string, p Permission, exists bool) error {
	until, _ := parseUntil(p.GrantedUntil)
	if !until.After(time.Now()) {
		c.bad(path+".granted_until", "%s has passed: a permission's end is in the future", p.GrantedUntil)
		return nil
	}
	if exists {
		old, err := st.PermissionOf(ctx, customerID, partnerID)
		if err == nil && old.Granted && old.GrantedUntil != nil && old.GrantedUntil.Equal(until) {
			pl.keep(kindPermission)
			return nil
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	pl.add(func(ctx context.Context, a *applier) error {
		if err := a.st.GrantPermissionUntil(ctx, customerID, partnerID, until, Actor, a.now()); err != nil {
			return err
		}
		a.report.Permissions.Created++
		return a.audit(ctx, domain.ActionPermissionGranted, partnerID, customerID, "", "by the operator's directory file, until "+until.Format(time.RFC3339))
	})
	return nil
}
