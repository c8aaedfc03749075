// Package ratelimit holds token buckets (golang.org/x/time/rate) per key:
// per account, per client address, per link. A caller takes a token before
// the work it guards and can give it back when the attempt must not count
// (a successful login), so only failures use up the budget.
package ratelimit

import (
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Rule is a budget: Burst attempts at once, then one more every Every.
type Rule struct {
	Burst int
	Every time.Duration
}

// maxKeys bounds the memory a flood of distinct keys can take; beyond it
// the newest keys share one bucket, so the flood limits only itself.
const maxKeys = 100_000

// overflowKey is the shared bucket of keys beyond maxKeys.
const overflowKey = "\x00overflow"

// Limiter is one Rule applied to each key on its own. Safe for concurrent use.
type Limiter struct {
	rule      Rule
	now       func() time.Time
	mu        sync.Mutex
	buckets   map[string]*rate.Limiter
	lastSweep time.Time
}

// New returns a limiter of rule; now is the clock (nil: time.Now).
func New(rule Rule, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	if rule.Burst < 1 {
		rule.Burst = 1
	}
	return &Limiter{rule: rule, now: now, buckets: map[string]*rate.Limiter{}}
}

// Attempt is a token taken for one attempt.
type Attempt struct {
	r  *rate.Reservation
	at time.Time
}

// Undo gives the token back: the attempt does not count.
func (a Attempt) Undo() {
	if a.r != nil {
		a.r.CancelAt(a.at)
	}
}

// Take takes a token for key. When none is left it takes nothing and
// returns false with how long until one is.
func (l *Limiter) Take(key string) (Attempt, time.Duration, bool) {
	now := l.now()
	b := l.bucket(key, now)
	r := b.ReserveN(now, 1)
	if !r.OK() {
		return Attempt{}, l.rule.Every, false
	}
	if wait := r.DelayFrom(now); wait > 0 {
		r.CancelAt(now)
		return Attempt{}, wait, false
	}
	return Attempt{r: r, at: now}, 0, true
}

// Allow takes a token for key, for attempts that always count.
func (l *Limiter) Allow(key string) (time.Duration, bool) {
	_, wait, ok := l.Take(key)
	return wait, ok
}

func (l *Limiter) bucket(key string, now time.Time) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.buckets[key]; ok {
		return b
	}
	if now.Sub(l.lastSweep) > l.rule.Every || len(l.buckets) >= maxKeys {
		l.sweep(now)
	}
	if len(l.buckets) >= maxKeys {
		key = overflowKey
		if b, ok := l.buckets[key]; ok {
			return b
		}
	}
	b := rate.NewLimiter(rate.Every(l.rule.Every), l.rule.Burst)
	l.buckets[key] = b
	return b
}

// sweep forgets the keys whose bucket is full again: they are as new.
func (l *Limiter) sweep(now time.Time) {
	l.lastSweep = now
	for k, b := range l.buckets {
		if b.TokensAt(now) >= float64(l.rule.Burst) {
			delete(l.buckets, k)
		}
	}
}

// Keys reports how many keys are tracked (for tests and metrics).
func (l *Limiter) Keys() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// ClientKey is the key of a client address: the IP itself, or its /64 for
// IPv6, since one host commonly holds a whole /64.
func ClientKey(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// RetryAfter is wait in whole seconds for a Retry-After header, at least 1.
func RetryAfter(wait time.Duration) int {
	s := int((wait + time.Second - 1) / time.Second)
	return max(s, 1)
}
