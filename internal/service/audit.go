package service

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/store"
)

// refusal is a refused attempt, for the audit log (R6: every attempt).
type refusal struct {
	// Actor made the attempt; nil when nobody logged in made it (an
	// approval or one-time link), which is sampled.
	Actor  *store.User
	Action domain.Action
	// Tenant is the object acted on when the actor may see it: its
	// assignment, site, customer and partner go in the row's columns.
	Tenant *tenant
	// Hidden names what was asked for when the actor may not see it
	// (`assignment "x"`); it goes in the detail, never the columns others
	// filter on, so a probe of another tenant lands in the prober's log.
	Hidden string
	// Request prefixes the detail with the request refused ("POST /path").
	Request string
	// Via is the channel of a refused decision (chat.Via…).
	Via string
}

// tenant is where an audit row belongs.
type tenant struct {
	AssignmentID, SiteID, CustomerID, PartnerID string
}

func assignmentTenant(a store.Assignment) *tenant {
	return &tenant{AssignmentID: a.ID, SiteID: a.SiteID, CustomerID: a.CustomerID, PartnerID: a.PartnerID}
}

func siteTenant(site store.Site) *tenant {
	return &tenant{SiteID: site.ID, CustomerID: site.CustomerID, PartnerID: site.PartnerID}
}

// refuse audits a refusal, counts it, and returns err. Anything not a
// *problem.Error is a failure, logged where it happened, and passes through.
func (s *Service) refuse(ctx context.Context, r refusal, err error) error {
	p := problem.As(err)
	if p == nil {
		return err
	}
	s.metrics.Refused(p.Rule)
	e := store.AuditEntry{At: s.now(), Action: r.Action, Outcome: store.OutcomeRefused, Detail: p.Error(), Via: r.Via}
	if r.Request != "" {
		e.Detail = r.Request + ": " + e.Detail
	}
	if r.Actor == nil {
		key := string(r.Action)
		if r.Tenant != nil {
			key += "\x00" + r.Tenant.AssignmentID
		}
		write, skipped := s.anonymous.take(key, s.now())
		if !write {
			return err
		}
		if skipped > 0 {
			e.Detail = fmt.Sprintf("%s (and %d more not written since the last entry)", e.Detail, skipped)
		}
		e.ActorID = "anonymous"
	} else {
		markAudited(ctx)
		e.ActorID, e.PartnerID, e.CustomerID = r.Actor.ID, r.Actor.PartnerID, r.Actor.CustomerID
		if r.Tenant == nil && r.Hidden != "" {
			e.Detail = fmt.Sprintf("%s (%s)", e.Detail, r.Hidden)
		}
	}
	if t := r.Tenant; t != nil {
		e.AssignmentID, e.SiteID, e.CustomerID, e.PartnerID = t.AssignmentID, t.SiteID, t.CustomerID, t.PartnerID
	}
	e.Detail = clip(e.Detail)
	s.logAuditFailure(s.store.Audit(context.WithoutCancel(ctx), e))
	return err
}

// RefusedRequest audits a refused request ("POST /path") of a logged-in
// user that nothing audited on the way (R6: every refused attempt), in the
// user's tenant.
func (s *Service) RefusedRequest(ctx context.Context, actor store.User, request string, p *problem.Error) {
	s.refuse(ctx, refusal{Actor: &actor, Action: domain.ActionRequestRefused, Request: request}, p)
}

// audit writes a change an actor made to an assignment.
func (s *Service) audit(ctx context.Context, actor store.User, action domain.Action, assignmentID, detail string) {
	s.logAuditFailure(s.store.Audit(context.WithoutCancel(ctx), store.AuditEntry{At: s.now(), ActorID: actor.ID, Action: action,
		Outcome: store.OutcomeOK, AssignmentID: assignmentID, Detail: detail}))
}

// logAuditFailure logs an audit write that failed. The request it records
// has already taken effect, so the failure is logged, not answered.
func (s *Service) logAuditFailure(err error) {
	if err != nil {
		s.log.Error("audit log write failed", "error", err)
	}
}

// auditedKey marks, in a request's context, that a refusal was audited.
type auditedKey struct{}

// TrackRefusals returns a context in which the service marks that it
// audited a refusal, and a func that reports whether it did; a request
// whose refusal nothing audited goes to RefusedRequest.
func TrackRefusals(ctx context.Context) (context.Context, func() bool) {
	audited := new(bool)
	return context.WithValue(ctx, auditedKey{}, audited), func() bool { return *audited }
}

func markAudited(ctx context.Context) {
	if p, ok := ctx.Value(auditedKey{}).(*bool); ok {
		*p = true
	}
}

// clip bounds text taken from a request before it enters the audit log.
func clip(s string) string {
	const n = 300
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// sampler lets through at most one audit row per key and window for
// refusals that nobody logged in made (random approval tokens), so a flood
// adds a row a minute, not a row a request. The row says how many were
// not written since the last one; the metric counts every one.
type sampler struct {
	window time.Duration
	mu     sync.Mutex
	keys   map[string]*sampled
}

type sampled struct {
	at      time.Time
	skipped int
}

func newSampler(window time.Duration) *sampler {
	return &sampler{window: window, keys: map[string]*sampled{}}
}

// maxSampled bounds the keys a sampler remembers; beyond it, new keys
// share one window.
const maxSampled = 10_000

// take reports whether to write a row for key now, and how many refusals
// under key were not written since the last row.
func (sm *sampler) take(key string, now time.Time) (write bool, skipped int) {
	sm.mu.Lock()
	defer sm.mu.Unlock()
	e, ok := sm.keys[key]
	if !ok && len(sm.keys) >= maxSampled {
		for k, e := range sm.keys {
			if now.Sub(e.at) >= sm.window {
				delete(sm.keys, k)
			}
		}
		if len(sm.keys) >= maxSampled {
			key = ""
			e, ok = sm.keys[key]
		}
	}
	if !ok {
		e = &sampled{}
		sm.keys[key] = e
	} else if now.Sub(e.at) < sm.window {
		e.skipped++
		return false, 0
	}
	skipped, e.skipped, e.at = e.skipped, 0, now
	return true, skipped
}
