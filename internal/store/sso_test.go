package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/store"
)

func TestSSOSignInUnderWayIsTakenOnceAndNotAfterItExpires(t *testing.T) {
	eachDialect(t, func(t *testing.T, db database) {
		ctx := context.Background()
		s := openDemo(t, db)
		now := time.Now()
		begin := func(state string, until time.Time) {
			t.Helper()
			if err := s.BeginSSO(ctx, store.SSOPending{StateHash: []byte(state), BrowserHash: []byte("b"), OrgKind: store.KindCustomer,
				OrgID: demo.Contoso, Issuer: "https://idp.example", NonceHash: []byte("n"), Verifier: []byte("v"), NextPath: "/sites",
				ExpiresAt: until}, now); err != nil {
				t.Fatal(err)
			}
		}
		begin("live", now.Add(time.Minute))
		begin("stale", now.Add(time.Second))
		p, err := s.TakeSSO(ctx, []byte("live"), now)
		if err != nil || p.OrgID != demo.Contoso || string(p.Verifier) != "v" || p.NextPath != "/sites" {
			t.Fatalf("take: %+v %v", p, err)
		}
		if _, err := s.TakeSSO(ctx, []byte("live"), now); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("taken twice: %v", err)
		}
		if _, err := s.TakeSSO(ctx, []byte("stale"), now.Add(2*time.Second)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("an expired sign-in was taken: %v", err)
		}
	})
}

func TestSSOSubjectIsBoundOnceAndAnInvitedUserBecomesActive(t *testing.T) {
	eachDialect(t, func(t *testing.T, db database) {
		ctx := context.Background()
		s := openDemo(t, db)
		now := time.Now().Truncate(time.Second)
		sess := func(token string) store.Session {
			return store.Session{TokenHash: []byte(token), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		}
		u, bound, err := s.SignInSSO(ctx, demo.Invited, "https://idp.example", "sub-1", sess("t1"), now)
		if err != nil || !bound || u.Status != store.StatusActive || u.RegisteredAt == nil {
			t.Fatalf("first sign-in: %+v bound=%v %v", u, bound, err)
		}
		if _, sess, err := s.SessionOf(ctx, []byte("t1"), now); err != nil || sess.Method != store.SessionSSO || sess.Issuer != "https://idp.example" {
			t.Fatalf("session: %+v %v", sess, err)
		}
		if _, bound, err := s.SignInSSO(ctx, demo.Invited, "https://idp.example", "sub-1", sess("t2"), now); err != nil || bound {
			t.Fatalf("second sign-in: bound=%v %v", bound, err)
		}
		if _, _, err := s.SignInSSO(ctx, demo.Invited, "https://idp.example", "sub-2", sess("t3"), now); !errors.Is(err, store.ErrSubjectMismatch) {
			t.Fatalf("another subject: %v", err)
		}
		if _, _, err := s.SignInSSO(ctx, demo.Solo, "https://idp.example", "sub-1", sess("t4"), now); !errors.Is(err, store.ErrSubjectMismatch) {
			t.Fatalf("the subject of another user: %v", err)
		}
		if _, _, err := s.SignInSSO(ctx, demo.Suspended, "https://idp.example", "sub-9", sess("t5"), now); !errors.Is(err, store.ErrUserState) {
			t.Fatalf("a suspended user: %v", err)
		}
		for _, token := range []string{"t3", "t4", "t5"} {
			if _, _, err := s.SessionOf(ctx, []byte(token), now); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("a refused sign-in opened session %s: %v", token, err)
			}
		}
		if _, sess, err := s.SessionOf(ctx, []byte("nope"), now); err == nil {
			t.Fatalf("unknown token: %+v", sess)
		}
	})
}
