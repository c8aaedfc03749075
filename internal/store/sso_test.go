package store_test

import (
	"context"
	"errors"
	"slices"
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

// A domain is one organization's: its addresses find that provider, in any
// case, until the provider goes with its domains.
func TestSSODomainsFindTheirProviderAndBelongToOneOrganization(t *testing.T) {
	eachDialect(t, func(t *testing.T, db database) {
		ctx := context.Background()
		s := openDemo(t, db)
		p := store.SSOProvider{Issuer: "https://idp.contoso.example", ClientID: "app", SecretEnv: "S", Domains: []string{"contoso.example", "Contoso.Test"}}
		if err := s.SetSSOProvider(ctx, store.KindCustomer, demo.Contoso, &p); err != nil {
			t.Fatal(err)
		}
		got, err := s.SSOProviderByDomain(ctx, "CONTOSO.example")
		if err != nil || got.OrgID != demo.Contoso || !slices.Equal(got.Domains, []string{"contoso.example", "contoso.test"}) {
			t.Fatalf("by domain: %+v %v", got, err)
		}
		if _, err := s.SSOProviderByDomain(ctx, "fabrikam.example"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a domain nobody names: %v", err)
		}
		other := store.SSOProvider{Issuer: "https://idp.fabrikam.example", ClientID: "app", SecretEnv: "S", Domains: []string{"contoso.test"}}
		if err := s.SetSSOProvider(ctx, store.KindCustomer, demo.Fabrikam, &other); err == nil {
			t.Fatal("a second organization took Contoso's domain")
		}
		if _, err := s.SSOProviderOf(ctx, store.KindCustomer, demo.Fabrikam); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the refused provider was kept: %v", err)
		}
		p.Domains = []string{"contoso.example"}
		if err := s.SetSSOProvider(ctx, store.KindCustomer, demo.Contoso, &p); err != nil {
			t.Fatal(err)
		}
		if err := s.SetSSOProvider(ctx, store.KindCustomer, demo.Fabrikam, &other); err != nil {
			t.Fatalf("a domain given up was not free: %v", err)
		}
		if err := s.SetSSOProvider(ctx, store.KindCustomer, demo.Contoso, nil); err != nil {
			t.Fatal(err)
		}
		ds, err := s.SSODomains(ctx)
		if err != nil || !slices.Equal(ds, []store.SSODomain{{Domain: "contoso.test", OrgKind: store.KindCustomer, OrgID: demo.Fabrikam}}) {
			t.Fatalf("domains after Contoso's provider went: %+v %v", ds, err)
		}
	})
}

// A store upgraded from before domains keeps handing over: each provider
// gets its users' domains, except one that another organization's users
// have too.
func TestSSODomainsAreFilledInForProvidersSetBeforeThem(t *testing.T) {
	eachDialect(t, func(t *testing.T, db database) {
		ctx := context.Background()
		s := openDemo(t, db)
		if err := store.MigrateDownToForTest(ctx, s, 7); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{
			`INSERT INTO sso_providers (org_kind, org_id, issuer, client_id, secret_env) VALUES ('partner', 'northwind', 'https://idp.n.example', 'a', 'S')`,
			`INSERT INTO sso_providers (org_kind, org_id, issuer, client_id, secret_env) VALUES ('customer', 'contoso', 'https://idp.c.example', 'a', 'S')`,
			`INSERT INTO users (id, email, name, kind, customer_id, status) VALUES ('guest', 'guest@Partner.Example', 'Guest', 'customer', 'contoso', 'invited')`,
			`INSERT INTO users (id, email, name, kind, customer_id, status) VALUES ('second', 'second@CONTOSO.test', 'Second', 'customer', 'contoso', 'invited')`,
		} {
			if err := store.ExecForTest(ctx, s, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		s.Close()
		s = db.open(t)
		ds, err := s.SSODomains(ctx)
		want := []store.SSODomain{{Domain: "contoso.example", OrgKind: store.KindCustomer, OrgID: demo.Contoso},
			{Domain: "contoso.test", OrgKind: store.KindCustomer, OrgID: demo.Contoso}}
		if err != nil || !slices.Equal(ds, want) {
			t.Fatalf("domains after the upgrade: %+v %v, want %+v (partner.example is Northwind's and a Contoso user's)", ds, err, want)
		}
	})
}
