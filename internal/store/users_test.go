package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/store"
)

func TestR2InvitationRegistersOnceAndTheNewestLinkWins(t *testing.T) {
	eachDialect(t, func(t *testing.T, db database) {
		ctx := context.Background()
		s := openDemo(t, db)
		now := time.Now()
		invite := func(hash string, at time.Time) {
			t.Helper()
			if err := s.IssueUserToken(ctx, store.UserToken{Hash: []byte(hash), UserID: demo.Invited, Purpose: store.PurposeInvitation,
				CreatedBy: demo.PartnerAdmin, CreatedAt: at, ExpiresAt: at.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
		invite("first", now)
		invite("second", now.Add(time.Second))
		if _, err := s.Register(ctx, []byte("first"), "hash", now.Add(2*time.Second)); !errors.Is(err, store.ErrTokenUnusable) {
			t.Fatalf("the replaced link registered: %v", err)
		}
		if old, err := s.UserTokenByHash(ctx, []byte("first")); err != nil || old.VoidedAt == nil {
			t.Fatalf("first link = %+v, %v; want voided", old, err)
		}
		if open, err := s.OpenInvitation(ctx, demo.Invited, now.Add(2*time.Second)); err != nil || string(open.Hash) != "second" {
			t.Fatalf("open invitation = %q, %v; want the second", open.Hash, err)
		}
		if _, err := s.Register(ctx, []byte("second"), "hash", now.Add(2*time.Hour)); !errors.Is(err, store.ErrTokenUnusable) {
			t.Fatalf("an expired link registered: %v", err)
		}

		invite("third", now.Add(3*time.Second))
		// Two registrations race with the same link: exactly one wins.
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = db.open(t).Register(ctx, []byte("third"), "hash", now.Add(4*time.Second))
			}()
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			if err == nil {
				won++
			} else if !errors.Is(err, store.ErrTokenUnusable) {
				t.Fatal(err)
			}
		}
		if won != 1 {
			t.Fatalf("%d registrations with one link, want 1", won)
		}
		u, err := s.UserByID(ctx, demo.Invited)
		if err != nil || u.Status != store.StatusActive || u.RegisteredAt == nil || u.PasswordHash != "hash" || u.StatusChangedAt == nil {
			t.Fatalf("registered user = %+v, %v", u, err)
		}
	})
}

func TestR2SuspensionEndsSessionsAndLinksAndReactivationRestores(t *testing.T) {
	eachDialect(t, func(t *testing.T, db database) {
		ctx := context.Background()
		s := openDemo(t, db)
		now := time.Now()
		if err := s.CreateSession(ctx, store.Session{TokenHash: []byte("sess"), UserID: demo.Solo, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if err := s.IssueUserToken(ctx, store.UserToken{Hash: []byte("reset"), UserID: demo.Solo, Purpose: store.PurposePasswordReset,
			CreatedBy: demo.Solo, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		for i, want := range []bool{true, false} { // again: no change
			if changed, err := s.SuspendUser(ctx, demo.Solo, now); err != nil || changed != want {
				t.Fatalf("suspend #%d: changed %v, %v", i+1, changed, err)
			}
		}
		if _, err := s.SessionUser(ctx, []byte("sess"), now); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("session of a suspended user: %v", err)
		}
		if _, err := s.ResetPassword(ctx, []byte("reset"), "new", now); !errors.Is(err, store.ErrTokenUnusable) {
			t.Fatalf("reset link of a suspended user: %v", err)
		}
		if changed, err := s.ReactivateUser(ctx, demo.Solo, now); err != nil || !changed {
			t.Fatalf("reactivate: %v %v", changed, err)
		}
		if u, _ := s.UserByID(ctx, demo.Solo); u.Status != store.StatusActive {
			t.Fatalf("reactivated registered user is %s", u.Status)
		}
		// Not registered: nothing to suspend; its invitation is withdrawn instead.
		if _, err := s.SuspendUser(ctx, demo.Invited, now); !errors.Is(err, store.ErrUserState) {
			t.Fatalf("suspend an invited user: %v", err)
		}
		if err := s.IssueUserToken(ctx, store.UserToken{Hash: []byte("inv"), UserID: demo.Invited, Purpose: store.PurposeInvitation,
			CreatedBy: demo.PartnerAdmin, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if n, err := s.WithdrawInvitation(ctx, demo.Invited, now); err != nil || n != 1 {
			t.Fatalf("withdraw: %d %v", n, err)
		}
		if _, err := s.Register(ctx, []byte("inv"), "h", now); !errors.Is(err, store.ErrTokenUnusable) {
			t.Fatalf("withdrawn invitation registered: %v", err)
		}
		if err := s.SetUserRoles(ctx, demo.Solo, []string{store.RolePartnerConsultant, store.RolePartnerSupportAgent}); err != nil {
			t.Fatal(err)
		}
		if u, _ := s.UserByID(ctx, demo.Solo); len(u.Roles) != 2 {
			t.Fatalf("roles = %v", u.Roles)
		}
		if err := s.SetUserRoles(ctx, demo.Solo, []string{"Sorcerer"}); !store.IsConstraint(err) {
			t.Fatalf("unknown role stored: %v", err)
		}
	})
}

func TestPasswordResetEndsEverySession(t *testing.T) {
	eachDialect(t, func(t *testing.T, db database) {
		ctx := context.Background()
		s := openDemo(t, db)
		now := time.Now()
		for _, h := range []string{"s1", "s2"} {
			if err := s.CreateSession(ctx, store.Session{TokenHash: []byte(h), UserID: demo.Agent, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.IssueUserToken(ctx, store.UserToken{Hash: []byte("reset"), UserID: demo.Agent, Purpose: store.PurposePasswordReset,
			CreatedBy: demo.Agent, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Register(ctx, []byte("reset"), "x", now); !errors.Is(err, store.ErrTokenUnusable) {
			t.Fatalf("a reset link registered: %v", err)
		}
		u, err := s.ResetPassword(ctx, []byte("reset"), "new-hash", now)
		if err != nil || u.PasswordHash != "new-hash" {
			t.Fatalf("reset: %+v %v", u, err)
		}
		for _, h := range []string{"s1", "s2"} {
			if _, err := s.SessionUser(ctx, []byte(h), now); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("session %s survived the reset: %v", h, err)
			}
		}
		if _, err := s.ResetPassword(ctx, []byte("reset"), "again", now); !errors.Is(err, store.ErrTokenUnusable) {
			t.Fatalf("reset link used twice: %v", err)
		}
	})
}

// Two administrators who suspend or demote each other at once never leave
// their organization without one: the second change sees the first.
func TestTheLastActiveAdministratorStaysUnderRacingChanges(t *testing.T) {
	eachDialect(t, func(t *testing.T, db database) {
		ctx := context.Background()
		s := openDemo(t, db)
		both := []string{demo.ContosoAdmin, demo.ContosoOps}
		admins := func() int {
			n := 0
			for _, id := range both {
				u, err := s.UserByID(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if u.Status == store.StatusActive && u.HasRole(store.RoleCustomerAdmin) {
					n++
				}
			}
			return n
		}
		restore := func() {
			for _, id := range both {
				if _, err := s.ReactivateUser(ctx, id, time.Now()); err != nil {
					t.Fatal(err)
				}
				if err := s.SetUserRoles(ctx, id, []string{store.RoleCustomerAdmin, store.RoleCustomerOps}); err != nil {
					t.Fatal(err)
				}
			}
		}
		race := func(change func(id string) error) (refused int) {
			var wg sync.WaitGroup
			errs := make([]error, len(both))
			for i, id := range both {
				wg.Add(1)
				go func() { defer wg.Done(); errs[i] = change(id) }()
			}
			wg.Wait()
			for _, err := range errs {
				if errors.Is(err, store.ErrLastAdministrator) {
					refused++
				} else if err != nil {
					t.Fatal(err)
				}
			}
			return refused
		}
		for round := range 20 {
			restore()
			if refused := race(func(id string) error { _, err := s.SuspendUser(ctx, id, time.Now()); return err }); refused != 1 || admins() != 1 {
				t.Fatalf("round %d, suspensions: %d refused, %d administrators left; want 1 and 1", round, refused, admins())
			}
			restore()
			if refused := race(func(id string) error { return s.SetUserRoles(ctx, id, []string{store.RoleCustomerOps}) }); refused != 1 || admins() != 1 {
				t.Fatalf("round %d, demotions: %d refused, %d administrators left; want 1 and 1", round, refused, admins())
			}
		}
	})
}
