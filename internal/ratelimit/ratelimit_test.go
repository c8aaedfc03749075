package ratelimit_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/internal/ratelimit"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestBurstThenRefusedUntilRefill(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	l := ratelimit.New(ratelimit.Rule{Burst: 3, Every: time.Minute}, c.now)
	for i := range 3 {
		if _, ok := l.Allow("a"); !ok {
			t.Fatalf("attempt %d refused within the burst", i+1)
		}
	}
	wait, ok := l.Allow("a")
	if ok || wait <= 0 || wait > time.Minute {
		t.Fatalf("4th attempt: ok %v wait %v, want refused with a wait up to 1m", ok, wait)
	}
	if _, ok := l.Allow("b"); !ok {
		t.Fatal("another key was refused: keys must not share a bucket")
	}
	c.t = c.t.Add(time.Minute)
	if _, ok := l.Allow("a"); !ok {
		t.Fatal("refused after the refill")
	}
}

func TestUndoneAttemptsDoNotCount(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	l := ratelimit.New(ratelimit.Rule{Burst: 2, Every: time.Hour}, c.now)
	for i := range 10 {
		a, _, ok := l.Take("k")
		if !ok {
			t.Fatalf("undone attempt %d used up the budget", i)
		}
		a.Undo()
	}
}

func TestKeysAreForgottenOnceFull(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	l := ratelimit.New(ratelimit.Rule{Burst: 1, Every: time.Second}, c.now)
	for i := range 1000 {
		l.Allow(fmt.Sprint(i))
	}
	c.t = c.t.Add(2 * time.Second)
	l.Allow("new")
	if n := l.Keys(); n != 1 {
		t.Fatalf("%d keys kept, want 1: refilled buckets must be dropped", n)
	}
}

func TestClientKey(t *testing.T) {
	cases := map[string]string{
		"192.0.2.7:5555":             "192.0.2.7",
		"[::ffff:192.0.2.7]:1":       "192.0.2.7",
		"[2001:db8:1:2:3:4:5:6]:443": "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1]:443": "2001:db8:1:2::/64",
		"203.0.113.9":                "203.0.113.9",
		"not an address":             "not an address",
	}
	for in, want := range cases {
		if got := ratelimit.ClientKey(in); got != want {
			t.Errorf("ClientKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRetryAfterRoundsUp(t *testing.T) {
	for wait, want := range map[time.Duration]int{0: 1, time.Millisecond: 1, time.Second: 1, 1500 * time.Millisecond: 2, time.Minute: 60} {
		if got := ratelimit.RetryAfter(wait); got != want {
			t.Errorf("RetryAfter(%v) = %d, want %d", wait, got, want)
		}
	}
}
