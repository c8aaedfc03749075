package graph

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// DefaultWritesPerSecond is the pace of writes to one tenant when nothing
// else is set: below the 20 a second (3,000 in 150 s) that Graph's
// identity and access limits give one app in one tenant.
const DefaultWritesPerSecond = 18

// Pace is the writes a worker may send to each tenant: one token bucket per
// tenant, shared by every client (and so every activity) that writes
// there. A storm waits its turn in the bucket instead of drawing 429s,
// which Graph counts against the tenant's quota too. A 429's Retry-After
// holds the tenant's bucket for every writer, not only the one answered.
// It is safe for concurrent use; the zero Pace is not: use NewPace.
type Pace struct {
	perSecond atomic.Uint64 // math.Float64bits of the rate
	mu        sync.Mutex
	tenants   map[string]*bucket
	throttled atomic.Int64
}

// NewPace paces writes at perSecond to each tenant (DefaultWritesPerSecond
// when it is not above 0), with a burst of a quarter second's worth.
func NewPace(perSecond float64) *Pace {
	p := &Pace{tenants: map[string]*bucket{}}
	p.SetRate(perSecond)
	return p
}

// SetRate changes the pace of every tenant from now on.
func (p *Pace) SetRate(perSecond float64) {
	if perSecond <= 0 {
		perSecond = DefaultWritesPerSecond
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.perSecond.Store(math.Float64bits(perSecond))
	for _, b := range p.tenants {
		b.setRate(perSecond)
	}
}

// Rate is the writes a second each tenant is paced at.
func (p *Pace) Rate() float64 { return math.Float64frombits(p.perSecond.Load()) }

// Throttled counts the 429s the tenants answered this worker.
func (p *Pace) Throttled() int64 { return p.throttled.Load() }

// bucket is one tenant's: a limiter, and the time until which a 429 holds
// every write.
type bucket struct {
	mu    sync.Mutex
	lim   *rate.Limiter
	until time.Time
}

// newLimiter is a bucket of a quarter second's writes: a write that finds
// the tenant idle goes at once, and a storm keeps a margin below the
// tenant's own bucket for requests that a busy machine delays unevenly
// (one held back, the next not, arrive closer together than sent).
func newLimiter(perSecond float64) *rate.Limiter {
	return rate.NewLimiter(rate.Limit(perSecond), max(1, int(perSecond/4)))
}

func (b *bucket) setRate(perSecond float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lim = newLimiter(perSecond)
}

func (p *Pace) bucket(tenant string) *bucket {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.tenants[tenant]
	if b == nil {
		b = &bucket{lim: newLimiter(p.Rate())}
		p.tenants[tenant] = b
	}
	return b
}

// wait blocks until the tenant may take one more write: past any hold,
// then a token of its bucket.
func (p *Pace) wait(ctx context.Context, tenant string) error {
	b := p.bucket(tenant)
	for {
		b.mu.Lock()
		lim, until := b.lim, b.until
		b.mu.Unlock()
		if d := time.Until(until); d > 0 {
			if err := sleep(ctx, d); err != nil {
				return err
			}
			continue
		}
		if err := lim.Wait(ctx); err != nil {
			return err
		}
		b.mu.Lock()
		held := time.Now().Before(b.until)
		b.mu.Unlock()
		if !held { // a 429 while this one waited for its token: wait for the hold, and a fresh token
			return nil
		}
	}
}

// hold stops the tenant's writes for d (a 429's Retry-After; a second when
// it named none) and empties its bucket, so that writes resume at the pace
// rather than all at once.
func (p *Pace) hold(tenant string, d time.Duration) {
	if d <= 0 {
		d = time.Second
	}
	p.throttled.Add(1)
	b := p.bucket(tenant)
	b.mu.Lock()
	defer b.mu.Unlock()
	until := time.Now().Add(d)
	if until.Before(b.until) {
		return
	}
	b.until = until
	lim := newLimiter(float64(b.lim.Limit()))
	lim.ReserveN(until, lim.Burst()) // empty at the hold's end
	b.lim = lim
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
