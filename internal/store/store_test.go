package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/store"
)

func openDemo(t *testing.T) (*store.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "app.db")
	s, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := demo.Load(context.Background(), s, bcrypt.MinCost); err != nil {
		t.Fatal(err)
	}
	return s, path
}

func TestMigrationsFromEmptyAndReopen(t *testing.T) {
	ctx := context.Background()
	s, path := openDemo(t)
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// Reopening applies nothing new and keeps the data; loading demo data again is a no-op.
	s2, err := store.Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s2.Close()
	if err := demo.Load(ctx, s2, bcrypt.MinCost); err != nil {
		t.Fatalf("second demo load: %v", err)
	}
	sites, err := s2.SitesForPartner(ctx, demo.Northwind)
	if err != nil {
		t.Fatal(err)
	}
	if len(sites) != 3 {
		t.Fatalf("Northwind sees %d sites, want 3", len(sites))
	}
	perm := map[string]bool{}
	for _, site := range sites {
		perm[site.ID] = site.Permitted
	}
	if !perm[demo.ContosoSite] || !perm[demo.FabrikamSite] || perm[demo.LitwareSite] {
		t.Fatalf("permissions %v: want Contoso and Fabrikam permitted, Litware not", perm)
	}
}

func TestConstraintsRefuseBadRows(t *testing.T) {
	ctx := context.Background()
	s, _ := openDemo(t)
	now := time.Now()
	cases := []struct {
		name string
		do   func() error
	}{
		{"site with unknown edition", func() error {
			return s.CreateSite(ctx, store.Site{ID: "x", Name: "X", CustomerID: demo.Contoso, Edition: "enterprise"})
		}},
		{"site of unknown customer", func() error {
			return s.CreateSite(ctx, store.Site{ID: "x", Name: "X", CustomerID: "nobody", Edition: domain.EditionStandard})
		}},
		{"duplicate email in another case", func() error {
			return s.CreateUser(ctx, store.User{ID: "dup", Email: "AGENT@partner.example", Name: "Dup", Kind: store.KindPartner,
				PartnerID: demo.Northwind, Status: store.StatusActive, RegisteredAt: &now})
		}},
		{"email without @", func() error {
			return s.CreateUser(ctx, store.User{ID: "bad", Email: "nobody", Name: "Bad", Kind: store.KindPartner,
				PartnerID: demo.Northwind, Status: store.StatusActive, RegisteredAt: &now})
		}},
		{"partner user with a customer", func() error {
			return s.CreateUser(ctx, store.User{ID: "mix", Email: "mix@x.example", Name: "Mix", Kind: store.KindPartner,
				PartnerID: demo.Northwind, CustomerID: demo.Contoso, Status: store.StatusActive, RegisteredAt: &now})
		}},
		{"active user never registered", func() error {
			return s.CreateUser(ctx, store.User{ID: "unreg", Email: "unreg@x.example", Name: "U", Kind: store.KindPartner,
				PartnerID: demo.Northwind, Status: store.StatusActive})
		}},
		{"unknown role", func() error {
			return s.CreateUser(ctx, store.User{ID: "role", Email: "role@x.example", Name: "R", Kind: store.KindPartner,
				PartnerID: demo.Northwind, Status: store.StatusActive, RegisteredAt: &now, Roles: []string{"Superuser"}})
		}},
		{"assignment without reason", func() error {
			return s.CreateAssignment(ctx, store.Assignment{ID: "a0", WorkflowID: "w", SiteID: demo.ContosoSite,
				PartnerUserID: demo.Agent, Role: store.RolePartnerConsultant, Edition: domain.EditionStandard, RequestedBy: demo.Agent, RequestedAt: now})
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.do()
			if !store.IsConstraint(err) {
				t.Fatalf("got %v, want a constraint violation", err)
			}
		})
	}
	// A failed user insert leaves no partial row behind (roles are in the same transaction).
	if _, err := s.UserByID(ctx, "role"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("user with a bad role was half-written: %v", err)
	}
}

func TestR8AtMostOneOpenAssignmentInTheStore(t *testing.T) {
	ctx := context.Background()
	s, _ := openDemo(t)
	now := time.Now()
	a := store.Assignment{ID: "a1", WorkflowID: "w", SiteID: demo.ContosoSite, PartnerUserID: demo.Agent,
		Role: store.RolePartnerConsultant, Reason: "case 1", Edition: domain.EditionStandard, RequestedBy: demo.Agent, RequestedAt: now}
	if err := s.CreateAssignment(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAssignment(ctx, a); err != nil {
		t.Fatalf("creating the same assignment again must be a no-op: %v", err)
	}
	b := a
	b.ID = "a2"
	if err := s.CreateAssignment(ctx, b); !store.IsConstraint(err) {
		t.Fatalf("second open assignment for the same site and user: got %v, want constraint violation", err)
	}
	// Once the first has ended, a new one may open.
	if err := s.ApplyTransition(ctx, store.Transition{AssignmentID: "a1", Seq: 2, State: domain.StateWithdrawn, At: now,
		Actor: demo.Agent, Action: "assignment.withdrawn"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAssignment(ctx, b); err != nil {
		t.Fatalf("new assignment after the first ended: %v", err)
	}
}

func TestTransitionsApplyOnceAndInOrder(t *testing.T) {
	ctx := context.Background()
	s, _ := openDemo(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	if err := s.CreateAssignment(ctx, store.Assignment{ID: "a1", WorkflowID: "w", SiteID: demo.ContosoSite, PartnerUserID: demo.Agent,
		Role: store.RolePartnerConsultant, Reason: "case 1", Edition: domain.EditionStandard, RequestedBy: demo.Agent, RequestedAt: now}); err != nil {
		t.Fatal(err)
	}
	ends := now.Add(72 * time.Hour)
	active := store.Transition{AssignmentID: "a1", Seq: 3, State: domain.StateActive, At: now, Actor: demo.ContosoAdmin,
		Action: "assignment.approved", Decision: domain.DecisionApproved, DecidedBy: "admin@contoso.example", ActivatedAt: &now, AccessEndsAt: &ends}
	pending := store.Transition{AssignmentID: "a1", Seq: 2, State: domain.StatePendingApproval, At: now, Actor: demo.Agent, Action: "assignment.requested"}
	for _, tr := range []store.Transition{active, active, pending} { // a retry, then a late older step
		if err := s.ApplyTransition(ctx, tr); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.AssignmentByID(ctx, "a1")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != domain.StateActive || got.DecidedBy != "admin@contoso.example" || got.AccessEndsAt == nil || !got.AccessEndsAt.Equal(ends) {
		t.Fatalf("projection = %+v, want active until %v decided by admin", got, ends)
	}
	log, err := s.AuditLog(ctx, store.AuditFilter{AssignmentID: "a1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 1 || log[0].Action != "assignment.approved" || log[0].CustomerID != demo.Contoso || log[0].PartnerID != demo.Northwind {
		t.Fatalf("audit = %+v, want one approved entry scoped to Contoso and Northwind", log)
	}
	if err := s.ApplyTransition(ctx, store.Transition{AssignmentID: "missing", Seq: 1, State: domain.StateActive, At: now}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("transition of unknown assignment: %v, want ErrNotFound", err)
	}
}

func TestAuditLogIsAppendOnly(t *testing.T) {
	ctx := context.Background()
	s, path := openDemo(t)
	if err := s.Audit(ctx, store.AuditEntry{At: time.Now(), ActorID: demo.Agent, Action: "assignment.refused", Outcome: store.OutcomeRefused}); err != nil {
		t.Fatal(err)
	}
	raw, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range []string{`UPDATE audit_log SET action = 'x'`, `DELETE FROM audit_log`} {
		if err := store.ExecForTest(ctx, raw, q); err == nil {
			t.Fatalf("%s succeeded on the audit log", q)
		}
	}
}

func TestGrantAnswersTheGatewayUntilExpiryOrRevocation(t *testing.T) {
	ctx := context.Background()
	s, _ := openDemo(t)
	now := time.Now()
	if err := s.CreateAssignment(ctx, store.Assignment{ID: "a1", WorkflowID: "w", SiteID: demo.ContosoSite, PartnerUserID: demo.Agent,
		Role: store.RolePartnerConsultant, Reason: "case", Edition: domain.EditionStandard, RequestedBy: demo.Agent, RequestedAt: now}); err != nil {
		t.Fatal(err)
	}
	ends := now.Add(time.Hour)
	g := store.Grant{AssignmentID: "a1", SiteID: demo.ContosoSite, UserID: demo.Agent, GrantedAt: now, ExpiresAt: &ends}
	if err := s.PutGrant(ctx, g); err != nil {
		t.Fatal(err)
	}
	if err := s.PutGrant(ctx, g); err != nil {
		t.Fatalf("activating twice must be a no-op: %v", err)
	}
	if _, err := s.ActiveGrant(ctx, demo.ContosoSite, demo.Agent, now.Add(time.Minute)); err != nil {
		t.Fatalf("grant not active within its window: %v", err)
	}
	if _, err := s.ActiveGrant(ctx, demo.ContosoSite, demo.Agent, ends.Add(time.Second)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("grant active after its end: %v", err)
	}
	if _, err := s.ActiveGrant(ctx, demo.ContosoSite, demo.Solo, now.Add(time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another user has access: %v", err)
	}
	if err := s.RevokeGrant(ctx, "a1", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ActiveGrant(ctx, demo.ContosoSite, demo.Agent, now.Add(2*time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("grant active after revocation: %v", err)
	}
}

func TestCredentialIsShownOnce(t *testing.T) {
	ctx := context.Background()
	s, _ := openDemo(t)
	now := time.Now()
	if err := s.CreateAssignment(ctx, store.Assignment{ID: "p1", WorkflowID: "w", SiteID: demo.FabrikamSite, PartnerUserID: demo.Solo,
		Role: store.RolePartnerSupportAgent, Reason: "case", Edition: domain.EditionProfessional, RequestedBy: demo.Solo, RequestedAt: now}); err != nil {
		t.Fatal(err)
	}
	stored, err := s.PutCredential(ctx, store.Credential{AssignmentID: "p1", Login: "solo@partner.example", Ciphertext: []byte("sealed"), CreatedAt: now})
	if err != nil || !stored {
		t.Fatalf("put credential: %v %v", stored, err)
	}
	if again, _ := s.PutCredential(ctx, store.Credential{AssignmentID: "p1", Login: "x", Ciphertext: []byte("other"), CreatedAt: now}); again {
		t.Fatal("a second credential replaced the first")
	}
	c, err := s.TakeCredential(ctx, "p1", now)
	if err != nil || string(c.Ciphertext) != "sealed" {
		t.Fatalf("take: %q %v", c.Ciphertext, err)
	}
	c, err = s.TakeCredential(ctx, "p1", now)
	if err != nil || c.Ciphertext != nil || c.ViewedAt == nil {
		t.Fatalf("second take returned %q (viewed %v), %v; want nothing", c.Ciphertext, c.ViewedAt, err)
	}
}
