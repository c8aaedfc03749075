package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/store"
)

func TestAccessTargetsAccountsAndPendingRevocations(t *testing.T) {
	eachDialect(t, func(t *testing.T, db database) {
		ctx := context.Background()
		s := openDemo(t, db)
		if got, err := s.CustomerTarget(ctx, demo.Contoso); err != nil || got.Kind != store.TargetGateway {
			t.Fatalf("target of a customer without one: %+v %v, want the gateway", got, err)
		}
		target := store.Target{Kind: store.TargetEntra, TenantID: "t1", ClientID: "c1", SecretEnv: "CONTOSO_GRAPH_SECRET", UserDomain: "contoso.example"}
		if err := s.SetCustomerTarget(ctx, demo.Contoso, &target); err != nil {
			t.Fatal(err)
		}
		target.ClientID, target.SecretEnv, target.SecretFile = "c2", "", "/run/secrets/graph"
		if err := s.SetCustomerTarget(ctx, demo.Contoso, &target); err != nil {
			t.Fatal(err)
		}
		if got, err := s.CustomerTarget(ctx, demo.Contoso); err != nil || got != target {
			t.Fatalf("target %+v %v, want %+v", got, err, target)
		}
		both := target
		both.SecretEnv = "ALSO"
		if err := s.SetCustomerTarget(ctx, demo.Fabrikam, &both); err == nil {
			t.Fatal("a target naming both a secret variable and a file was stored")
		}
		if err := s.SetSiteAccessGroup(ctx, demo.ContosoSite, "g1"); err != nil {
			t.Fatal(err)
		}
		if site, err := s.SiteByID(ctx, demo.ContosoSite); err != nil || site.AccessGroup != "g1" {
			t.Fatalf("site %+v %v", site, err)
		}
		if err := s.SetSiteAccessGroup(ctx, "no-such-site", "g1"); err == nil {
			t.Fatal("an access group was set on a missing site")
		}

		if _, err := s.DirectoryAccount(ctx, demo.Solo, demo.Contoso); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("account before one was made: %v", err)
		}
		made := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
		acct := store.DirectoryAccount{UserID: demo.Solo, CustomerID: demo.Contoso, Kind: store.TargetEntra, TenantID: "t1",
			ObjectID: "o1", Login: "northwind-solo.northwind@contoso.example", Enabled: true, CreatedAt: made, UpdatedAt: made}
		if err := s.SaveDirectoryAccount(ctx, acct); err != nil {
			t.Fatal(err)
		}
		acct.Enabled, acct.CreatedAt, acct.UpdatedAt = false, time.Now(), time.Now()
		if err := s.SaveDirectoryAccount(ctx, acct); err != nil {
			t.Fatal(err)
		}
		got, err := s.DirectoryAccount(ctx, demo.Solo, demo.Contoso)
		if err != nil || got.Enabled || got.ObjectID != "o1" || !got.CreatedAt.Equal(made) {
			t.Fatalf("account %+v %v: want disabled, made at %v", got, err, made)
		}
		if as, err := s.DirectoryAccounts(ctx, demo.Contoso); err != nil || len(as) != 1 {
			t.Fatalf("accounts %v %v", as, err)
		}

		now := time.Now()
		if err := s.CreateAssignment(ctx, store.Assignment{ID: "a1", WorkflowID: "w1", SiteID: demo.ContosoSite, PartnerUserID: demo.Solo,
			Role: store.RolePartnerSupportAgent, Reason: "case", Edition: domain.EditionStandard, RequestedBy: demo.Solo, RequestedAt: now}); err != nil {
			t.Fatal(err)
		}
		ends := now.Add(time.Hour)
		if err := s.PutGrant(ctx, store.Grant{AssignmentID: "a1", SiteID: demo.ContosoSite, UserID: demo.Solo, GrantedAt: now, ExpiresAt: &ends}); err != nil {
			t.Fatal(err)
		}
		if n, err := s.DirectoryGrantsInForce(ctx, demo.Contoso, demo.Solo, "a2", now); err != nil || n != 1 {
			t.Fatalf("other grants in force %d %v, want a1", n, err)
		}
		if n, _ := s.DirectoryGrantsInForce(ctx, demo.Contoso, demo.Solo, "a1", now); n != 0 {
			t.Fatalf("the assignment's own grant counted: %d", n)
		}
		if n, _ := s.DirectoryGrantsInForce(ctx, demo.Contoso, demo.Solo, "a2", ends.Add(time.Second)); n != 0 {
			t.Fatalf("an expired grant counted: %d", n)
		}

		if err := s.SetCredential(ctx, store.Credential{AssignmentID: "a1", Login: "first", Ciphertext: []byte{1}, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.TakeCredential(ctx, "a1", now); err != nil {
			t.Fatal(err)
		}
		if err := s.SetCredential(ctx, store.Credential{AssignmentID: "a1", Login: "second", Ciphertext: []byte{2}, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		if c, err := s.CredentialByAssignment(ctx, "a1"); err != nil || c.Login != "second" || c.Ciphertext[0] != 2 || c.ViewedAt != nil {
			t.Fatalf("credential set again: %+v %v, want the new one, viewable", c, err)
		}

		for range 2 {
			if err := s.SetRevocationPending(ctx, "a1", now, "graph: 503"); err != nil {
				t.Fatal(err)
			}
		}
		if p, err := s.PendingRevocationOf(ctx, "a1"); err != nil || p.Attempts != 2 || p.LastError != "graph: 503" {
			t.Fatalf("pending %+v %v", p, err)
		}
		if n, _ := s.RevocationsPending(ctx); n != 1 {
			t.Fatalf("%d pending, want 1", n)
		}
		if err := s.ClearRevocationPending(ctx, "a1"); err != nil {
			t.Fatal(err)
		}
		if n, _ := s.RevocationsPending(ctx); n != 0 {
			t.Fatalf("%d pending after the proof, want 0", n)
		}
		if err := s.ApplyTransition(ctx, store.Transition{AssignmentID: "a1", Seq: 1, State: domain.StateRevoked, At: now,
			Actor: demo.Solo, Action: "access.revoked"}); err != nil {
			t.Fatal(err)
		}
		if err := s.SetCustomerTarget(ctx, demo.Contoso, nil); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.CustomerTarget(ctx, demo.Contoso); got.Kind != store.TargetGateway {
			t.Fatalf("target after removal: %+v", got)
		}
	})
}

// Access in force is removed where it was made, read from the store when
// the removal runs: while an assignment holds access, its customer's target
// is not removed nor moved to another tenant, and its site's group is kept.
func TestAccessHeldKeepsTheTargetAndTheGroup(t *testing.T) {
	eachDialect(t, func(t *testing.T, db database) {
		ctx := context.Background()
		s := openDemo(t, db)
		target := store.Target{Kind: store.TargetEntra, TenantID: "t1", ClientID: "c1", SecretEnv: "CONTOSO_GRAPH_SECRET", UserDomain: "contoso.example"}
		if err := s.SetCustomerTarget(ctx, demo.Contoso, &target); err != nil {
			t.Fatal(err)
		}
		if err := s.SetSiteAccessGroup(ctx, demo.ContosoSite, "g1"); err != nil {
			t.Fatal(err)
		}
		holds := func(want map[string]store.Holds) {
			t.Helper()
			got, err := s.AccessHolds(ctx, demo.Contoso)
			if err != nil || len(got) != len(want) {
				t.Fatalf("holds %v %v, want %v", got, err, want)
			}
			for site, h := range want {
				if got[site] != h {
					t.Fatalf("holds %v, want %v", got, want)
				}
			}
		}
		holds(nil)

		now := time.Now()
		for _, a := range []store.Assignment{
			{ID: "a1", WorkflowID: "w1", SiteID: demo.ContosoSite, PartnerUserID: demo.Solo, Edition: domain.EditionStandard},
			{ID: "a2", WorkflowID: "w2", SiteID: demo.ContosoSite, PartnerUserID: demo.Agent, Edition: domain.EditionStandard},
			{ID: "f1", WorkflowID: "wf1", SiteID: demo.FabrikamSite, PartnerUserID: demo.Solo, Edition: domain.EditionProfessional},
		} {
			a.Role, a.Reason, a.RequestedBy, a.RequestedAt = store.RolePartnerSupportAgent, "case", a.PartnerUserID, now
			if err := s.CreateAssignment(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		end := func(id string) {
			t.Helper()
			if err := s.ApplyTransition(ctx, store.Transition{AssignmentID: id, Seq: 1, State: domain.StateRevoked, At: now,
				Actor: demo.Solo, Action: "access.revoked"}); err != nil {
				t.Fatal(err)
			}
		}
		end("a2") // ended and removed from the directory: holds nothing
		holds(map[string]store.Holds{demo.ContosoSite: {Open: 1}})

		refused := func(what string, err error) {
			t.Helper()
			if !errors.Is(err, store.ErrAccessHeld) {
				t.Fatalf("%s while access is held: %v, want ErrAccessHeld", what, err)
			}
		}
		otherTenant := target
		otherTenant.TenantID = "t2"
		refused("target removed", s.SetCustomerTarget(ctx, demo.Contoso, nil))
		refused("tenant changed", s.SetCustomerTarget(ctx, demo.Contoso, &otherTenant))
		refused("group changed", s.SetSiteAccessGroup(ctx, demo.ContosoSite, "g2"))
		refused("group removed", s.SetSiteAccessGroup(ctx, demo.ContosoSite, ""))
		sameTenant := target
		sameTenant.ClientID, sameTenant.SecretEnv, sameTenant.SecretFile, sameTenant.UserDomain = "c2", "", "/run/secrets/graph", "contoso.test"
		if err := s.SetCustomerTarget(ctx, demo.Contoso, &sameTenant); err != nil {
			t.Fatalf("app, secret and domain changed in the same tenant: %v", err)
		}
		if err := s.SetSiteAccessGroup(ctx, demo.ContosoSite, "g1"); err != nil {
			t.Fatalf("the same group set again: %v", err)
		}
		if got, _ := s.CustomerTarget(ctx, demo.Contoso); got != sameTenant {
			t.Fatalf("target %+v, want %+v", got, sameTenant)
		}
		// A site without a group has nothing in one: it may get one.
		if err := s.SetSiteAccessGroup(ctx, demo.FabrikamSite, "g9"); err != nil {
			t.Fatalf("a first group for a site with an open assignment: %v", err)
		}

		// Ended, but the directory has not let the revocation happen yet.
		end("a1")
		if err := s.SetRevocationPending(ctx, "a1", now, "graph: 503"); err != nil {
			t.Fatal(err)
		}
		holds(map[string]store.Holds{demo.ContosoSite: {Pending: 1}})
		refused("target removed", s.SetCustomerTarget(ctx, demo.Contoso, nil))
		refused("group changed", s.SetSiteAccessGroup(ctx, demo.ContosoSite, "g2"))

		if err := s.ClearRevocationPending(ctx, "a1"); err != nil {
			t.Fatal(err)
		}
		holds(nil)
		if err := s.SetSiteAccessGroup(ctx, demo.ContosoSite, "g2"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetCustomerTarget(ctx, demo.Contoso, &otherTenant); err != nil {
			t.Fatal(err)
		}
		if err := s.SetCustomerTarget(ctx, demo.Contoso, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.SetCustomerTarget(ctx, demo.Contoso, nil); err != nil {
			t.Fatalf("removing a target already gone: %v", err)
		}
		if got, _ := s.CustomerTarget(ctx, demo.Contoso); got.Kind != store.TargetGateway {
			t.Fatalf("target after removal: %+v", got)
		}
		if err := s.SetSiteAccessGroup(ctx, "no-such-site", "g1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("group of a missing site: %v, want ErrNotFound", err)
		}
	})
}
