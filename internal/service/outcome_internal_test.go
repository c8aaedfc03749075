package service

import (
	"testing"
	"time"
)

// An approval that waits on a busy workflow reads the store less and less
// often: every millisecond at first, at most every 50 ms.
func TestStoreReadsSpaceOutWhileADecisionWaits(t *testing.T) {
	for _, c := range []struct{ waited, want time.Duration }{
		{0, time.Millisecond},
		{5 * time.Millisecond, time.Millisecond},
		{30 * time.Millisecond, 3 * time.Millisecond},
		{200 * time.Millisecond, 20 * time.Millisecond},
		{10 * time.Second, 50 * time.Millisecond},
	} {
		if got := storePause(c.waited); got != c.want {
			t.Errorf("after %v: pause %v, want %v", c.waited, got, c.want)
		}
	}
	// Over a 10 s wait, the reads stay in the hundreds, not ten thousand.
	reads := 0
	for waited := time.Duration(0); waited < 10*time.Second; waited += storePause(waited) {
		reads++
	}
	if reads > 400 {
		t.Fatalf("%d store reads over a 10 s wait, want at most 400", reads)
	}
}
