package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/pgtest"
	"github.com/partneraccess/partneraccess/internal/store"
)

// database is where one test's store lives; open may be called again to
// reach the same data, as another process would.
type database struct {
	dialect store.Dialect
	at      string // SQLite file or PostgreSQL URL
}

func (d database) open(t *testing.T) *store.Store {
	t.Helper()
	var s *store.Store
	var err error
	if d.dialect == store.Postgres {
		s, err = store.OpenPostgres(context.Background(), d.at, 4)
	} else {
		s, err = store.Open(context.Background(), d.at)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// eachDialect runs fn on SQLite (a temporary file) and on PostgreSQL (a new
// database on the server at PG_TEST_URL).
// Each test has its own databases, so all run in parallel.
func eachDialect(t *testing.T, fn func(t *testing.T, db database)) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, database{store.SQLite, filepath.Join(t.TempDir(), "app.db")})
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, database{store.Postgres, pgtest.NewDatabase(t)})
	})
}

func openDemo(t *testing.T, db database) *store.Store {
	t.Helper()
	s := db.open(t)
	if err := demo.Load(context.Background(), s, bcrypt.MinCost); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMigrationsFromEmptyAndReopen(t *testing.T) {
	eachDialect(t, func(t *testing.T, db database) {
		ctx := context.Background()
		s := openDemo(t, db)
		if err := s.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		if s.Dialect() != db.dialect {
			t.Fatalf("store runs on %s, want %s", s.Dialect(), db.dialect)
		}
		s.Close()
		// Reopening applies nothing new and keeps the data; loading demo data again is a no-op.
		s2 := db.open(t)
		if err := demo.Load(ctx, s2, bcrypt.MinCost); err != nil {
			t.Fatalf("second demo load: %v", err)
		}
		sites, err := s2.SitesForPartner(ctx, demo.Northwind)
		if err != nil {
			t.Fatal(err)
		}
		if len(sites) != 4 { // Contoso's two, Fabrikam's and Litware's
			t.Fatalf("Northwind sees %d sites, want 4", len(sites))
		}
		perm := map[string]bool{}
		for _, site := range sites {
			perm[site.ID] = site.Permitted
		}
		if !perm[demo.ContosoSite] || !perm[demo.FabrikamSite] || perm[demo.LitwareSite] {
			t.Fatalf("permissions %v: want Contoso and Fabrikam permitted, Litware not", perm)
		}
		users, err := s2.PartnerUsers(ctx, demo.Northwind)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(users, func(u store.User) bool { return u.ID == demo.Agent })
		if i < 0 || len(users[i].Roles) != 2 {
			t.Fatalf("partner users %+v: want the agent with two roles", users)
		}
		u, err := s2.UserByEmail(ctx, " AGENT@Partner.example ")
		if err != nil || u.ID != demo.Agent {
			t.Fatalf("user by email in another case: %+v %v", u, err)
		}
	})
}

func TestMigrationsAndColumnsAreTheSameOnBothDialects(t *testing.T) {
	if a, b := store.MigrationFilesForTest(store.SQLite), store.MigrationFilesForTest(store.Postgres); !slices.Equal(a, b) || len(a) == 0 {
		t.Fatalf("migrations differ: sqlite %v, postgres %v", a, b)
	}
	lite := database{store.SQLite, filepath.Join(t.TempDir(), "app.db")}.open(t)
	pg := database{store.Postgres, pgtest.NewDatabase(t)}.open(t)
	want, err := store.ColumnsForTest(context.Background(), lite)
	if err != nil {
		t.Fatal(err)
	}
	got, err := store.ColumnsForTest(context.Background(), pg)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) || len(want) < 50 {
		t.Fatalf("columns differ:\npostgres %v\nsqlite   %v", got, want)
	}
}

func TestOpenPostgresFromManyProcessesAtOnce(t *testing.T) {
	url := pgtest.NewDatabase(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			s, err := store.OpenPostgres(context.Background(), url, 2)
			if err == nil {
				err = s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent migrations: %v", err)
	}
}

func TestConstraintsRefuseBadRows(t *testing.T) {
	eachDialect(t, func(t *testing.T, db database) {
		ctx := context.Background()
		s := openDemo(t, db)
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
	})
}

func TestR8AtMostOneOpenAssignmentInTheStore(t *testing.T) {
	eachDialect(t, func(t *testing.T, db database) {
		ctx := context.Background()
		s := openDemo(t, db)
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
	})
}

func TestTransitionsApplyOnceAndInOrder(t *testing.T) {
	eachDialect(t, func(t *testing.T, db database) {
		ctx := context.Background()
		s := openDemo(t, db)
		now := time.Now().UTC().Truncate(time.Millisecond)
		if err := s.CreateAssignment(ctx, store.Assignment{ID: "a1", WorkflowID: "w", SiteID: demo.ContosoSite, PartnerUserID: demo.Agent,
			Role: store.RolePartnerConsultant, Reason: "case 1", Edition: domain.EditionStandard, RequestedBy: demo.Agent, RequestedAt: now}); err != nil {
			t.Fatal(err)
		}
		ends := now.Add(72 * time.Hour)
		active := store.Transition{AssignmentID: "a1", Seq: 3, State: domain.StateActive, At: now, Actor: demo.ContosoAdmin,
			Action: "assignment.approved", Decision: domain.DecisionApproved, DecidedBy: "admin@contoso.example", DecisionSignal: "signal-1",
			ActivatedAt: &now, AccessEndsAt: &ends}
		pending := store.Transition{AssignmentID: "a1", Seq: 2, State: domain.StatePendingApproval, At: now, Actor: demo.Agent, Action: "assignment.requested"}
		if p, err := s.AssignmentProgress(ctx, "a1"); err != nil || p.Decision != "" || p.DecisionSignal != "" {
			t.Fatalf("progress before the decision = %+v, %v", p, err)
		}
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
		// A later step without a decision keeps the decision's signal: the
		// server that sent it reads there that its decision counted.
		if err := s.ApplyTransition(ctx, store.Transition{AssignmentID: "a1", Seq: 4, State: domain.StateExpired, At: now, Action: "access.expired"}); err != nil {
			t.Fatal(err)
		}
		if p, err := s.AssignmentProgress(ctx, "a1"); err != nil || p != (store.Progress{State: domain.StateExpired, Decision: domain.DecisionApproved, DecisionSignal: "signal-1"}) {
			t.Fatalf("progress = %+v, %v; want expired, approved by signal-1", p, err)
		}
		if got.AccessEndsAt.Location() != time.UTC || got.RequestedAt.Location() != time.UTC {
			t.Fatalf("times read back in %v and %v, want UTC", got.AccessEndsAt.Location(), got.RequestedAt.Location())
		}
		log, err := s.AuditLog(ctx, store.AuditFilter{AssignmentID: "a1"})
		if err != nil {
			t.Fatal(err)
		}
		if len(log) != 2 || log[0].Action != "assignment.approved" || log[1].Action != "access.expired" || log[0].CustomerID != demo.Contoso || log[0].PartnerID != demo.Northwind {
			t.Fatalf("audit = %+v, want one approved entry scoped to Contoso and Northwind, then expired", log)
		}
		if err := s.ApplyTransition(ctx, store.Transition{AssignmentID: "missing", Seq: 1, State: domain.StateActive, At: now}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("transition of unknown assignment: %v, want ErrNotFound", err)
		}
	})
}

func TestAuditLogIsAppendOnly(t *testing.T) {
	eachDialect(t, func(t *testing.T, db database) {
		ctx := context.Background()
		s := openDemo(t, db)
		if err := s.Audit(ctx, store.AuditEntry{At: time.Now(), ActorID: demo.Agent, Action: "assignment.refused", Outcome: store.OutcomeRefused}); err != nil {
			t.Fatal(err)
		}
		raw := db.open(t) // another process, with its own connections
		stmts := []string{`UPDATE audit_log SET action = 'x'`, `DELETE FROM audit_log`}
		if db.dialect == store.Postgres {
			stmts = append(stmts, `TRUNCATE audit_log`, `UPDATE audit_log SET action = 'x' WHERE id < 0`)
		}
		for _, q := range stmts {
			if err := store.ExecForTest(ctx, raw, q); err == nil {
				t.Fatalf("%s succeeded on the audit log", q)
			}
		}
		if log, err := s.AuditLog(ctx, store.AuditFilter{ActorID: demo.Agent}); err != nil || len(log) != 1 || log[0].Action != "assignment.refused" {
			t.Fatalf("audit log after refused changes: %+v %v", log, err)
		}
	})
}

func TestGrantAnswersTheGatewayUntilExpiryOrRevocation(t *testing.T) {
	eachDialect(t, func(t *testing.T, db database) {
		ctx := context.Background()
		s := openDemo(t, db)
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
		got, err := s.ActiveGrant(ctx, demo.ContosoSite, demo.Agent, now.Add(time.Minute))
		if err != nil {
			t.Fatalf("grant not active within its window: %v", err)
		}
		if got.AssignmentID != "a1" || got.UserID != demo.Agent || got.ExpiresAt == nil || got.ExpiresAt.Sub(ends).Abs() > time.Millisecond || got.RevokedAt != nil {
			t.Fatalf("grant read back as %+v, want assignment a1 until %v", got, ends)
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
	})
}

func TestCredentialIsShownOnce(t *testing.T) {
	eachDialect(t, func(t *testing.T, db database) {
		ctx := context.Background()
		s := openDemo(t, db)
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
	})
}

func TestCredentialIsShownOnceToConcurrentViewers(t *testing.T) {
	eachDialect(t, func(t *testing.T, db database) {
		ctx := context.Background()
		s := openDemo(t, db)
		other := db.open(t) // a second server
		now := time.Now()
		if err := s.CreateAssignment(ctx, store.Assignment{ID: "p1", WorkflowID: "w", SiteID: demo.FabrikamSite, PartnerUserID: demo.Solo,
			Role: store.RolePartnerSupportAgent, Reason: "case", Edition: domain.EditionProfessional, RequestedBy: demo.Solo, RequestedAt: now}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.PutCredential(ctx, store.Credential{AssignmentID: "p1", Login: "solo", Ciphertext: []byte("sealed"), CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var shown, errs int
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				c, err := []*store.Store{s, other}[i%2].TakeCredential(ctx, "p1", now)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					t.Log(err)
					errs++
				} else if c.Ciphertext != nil {
					shown++
				}
			})
		}
		wg.Wait()
		if shown != 1 || errs != 0 {
			t.Fatalf("credential shown %d times (%d errors) to 8 concurrent viewers, want once", shown, errs)
		}
	})
}

func TestEmailsRecordAttemptsAndFilterWithoutCase(t *testing.T) {
	eachDialect(t, func(t *testing.T, db database) {
		ctx := context.Background()
		s := openDemo(t, db)
		at := time.Now()
		e := store.Email{Key: "a1/approval/ops", AssignmentID: "a1", Kind: "approval_request", To: "ops@contoso.example",
			From: "access@example.com", Subject: "Approve", Status: store.EmailSending, UpdatedAt: at}
		for i, status := range []string{store.EmailSending, store.EmailSending, store.EmailSent} {
			e.Status, e.UpdatedAt = status, at.Add(time.Duration(i)*time.Second)
			if err := s.RecordEmail(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.RecordEmail(ctx, store.Email{Key: "a1/approval/admin", AssignmentID: "a1", Kind: "approval_request",
			To: "admin@contoso.example", From: "x@example.com", Subject: "Approve", Status: store.EmailLocal, UpdatedAt: at.Add(time.Second)}); err != nil {
			t.Fatal(err)
		}
		got, err := s.EmailByKey(ctx, e.Key)
		if err != nil || got.Attempts != 2 || got.Status != store.EmailSent || !got.CreatedAt.Equal(at.Truncate(time.Microsecond)) && !got.CreatedAt.Equal(at) {
			t.Fatalf("email = %+v, %v; want sent after 2 attempts, created at the first", got, err)
		}
		es, err := s.Emails(ctx, store.EmailFilter{To: "OPS@Contoso.Example"})
		if err != nil || len(es) != 1 || es[0].Key != e.Key {
			t.Fatalf("emails to OPS@…: %+v %v", es, err)
		}
		es, err = s.Emails(ctx, store.EmailFilter{AssignmentID: "a1", Limit: 1})
		if err != nil || len(es) != 1 || es[0].Key != e.Key {
			t.Fatalf("oldest email of a1: %+v %v", es, err)
		}
		if es, err = s.Emails(ctx, store.EmailFilter{Status: store.EmailLocal}); err != nil || len(es) != 1 || es[0].To != "admin@contoso.example" {
			t.Fatalf("local emails: %+v %v", es, err)
		}
	})
}

func TestSessionsAndApprovalTokens(t *testing.T) {
	eachDialect(t, func(t *testing.T, db database) {
		ctx := context.Background()
		s := openDemo(t, db)
		now := time.Now()
		hash := []byte{0, 1, 2, 0xff}
		if err := s.CreateSession(ctx, store.Session{TokenHash: hash, UserID: demo.Agent, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if u, err := db.open(t).SessionUser(ctx, hash, now.Add(time.Minute)); err != nil || u.ID != demo.Agent {
			t.Fatalf("session seen from another process: %+v %v", u, err)
		}
		if _, err := s.SessionUser(ctx, hash, now.Add(2*time.Hour)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("expired session: %v", err)
		}
		if err := s.DeleteSession(ctx, hash); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SessionUser(ctx, hash, now); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted session: %v", err)
		}

		if err := s.CreateAssignment(ctx, store.Assignment{ID: "a1", WorkflowID: "w", SiteID: demo.ContosoSite, PartnerUserID: demo.Agent,
			Role: store.RolePartnerConsultant, Reason: "case", Edition: domain.EditionStandard, RequestedBy: demo.Agent, RequestedAt: now}); err != nil {
			t.Fatal(err)
		}
		tokens := []store.ApprovalToken{
			{Hash: []byte("h-admin"), AssignmentID: "a1", ApproverID: demo.ContosoAdmin, ExpiresAt: now.Add(time.Hour)},
			{Hash: []byte("h-ops"), AssignmentID: "a1", ApproverID: demo.ContosoOps, ExpiresAt: now.Add(time.Hour)},
		}
		for range 2 { // storing again is a no-op
			if err := s.PutApprovalTokens(ctx, tokens); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.VoidApprovalTokens(ctx, "a1", now); err != nil {
			t.Fatal(err)
		}
		tok, err := s.ApprovalTokenByHash(ctx, []byte("h-ops"))
		if err != nil || tok.ApproverID != demo.ContosoOps || tok.VoidedAt == nil {
			t.Fatalf("token = %+v, %v; want ops's, voided", tok, err)
		}
	})
}

// TestClaimEmailLetsOneAttemptSend: of two attempts at one email, one
// claims it; the other may take over only once the first failed or went
// quiet past the lease, and never after it was sent.
func TestClaimEmailLetsOneAttemptSend(t *testing.T) {
	eachDialect(t, func(t *testing.T, db database) {
		ctx := context.Background()
		s := openDemo(t, db)
		now := time.Now()
		e := store.Email{Key: "a1/ready/solo@partner.example", Kind: "ready", To: "solo@partner.example", From: "pa@example.com", Subject: "s", UpdatedAt: now}
		claim := func(at time.Time) bool {
			t.Helper()
			e.UpdatedAt = at
			ok, err := s.ClaimEmail(ctx, e, 30*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		if !claim(now) || claim(now.Add(time.Second)) {
			t.Fatal("want the first attempt to claim the email and the second refused")
		}
		if !claim(now.Add(31 * time.Second)) {
			t.Fatal("an attempt quiet past the lease was not taken over")
		}
		e.Status, e.Error, e.UpdatedAt = store.EmailSending, "503 from the provider", now.Add(32*time.Second)
		if err := s.RecordEmail(ctx, e); err != nil {
			t.Fatal(err)
		}
		if !claim(now.Add(33 * time.Second)) {
			t.Fatal("an attempt that failed for now was not taken over")
		}
		e.Status, e.Error, e.UpdatedAt = store.EmailSent, "", now.Add(34*time.Second)
		if err := s.RecordEmail(ctx, e); err != nil {
			t.Fatal(err)
		}
		if claim(now.Add(time.Hour)) {
			t.Fatal("a sent email was claimed again")
		}
	})
}
