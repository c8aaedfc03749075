package service

import (
	"context"
	"time"
)

// RequestPasswordReset asks for a one-time link to be emailed to an active
// user with that email. It only queues the request: the lookup and the
// email happen after the caller has answered, so the answer takes the same
// path, and the same time, whether the account exists or not (no timing
// oracle). A request that finds a full queue is dropped and logged; the
// person asks again.
func (s *Service) RequestPasswordReset(email string) {
	s.resetsOnce.Do(func() { go s.sendResets() })
	select {
	case s.resets <- email:
	default:
		s.log.Warn("password-reset queue full; request dropped")
	}
}

// resetQueue is how many reset requests may wait; each takes milliseconds.
const resetQueue = 1024

// sendResets serves the reset requests one after the other.
func (s *Service) sendResets() {
	for email := range s.resets {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := s.sendReset(ctx, email); err != nil {
			s.log.Error("password reset", "error", err)
		}
		cancel()
	}
}
