package directory_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/partneraccess/partneraccess/internal/directory"
	"github.com/partneraccess/partneraccess/internal/pgtest"
	"github.com/partneraccess/partneraccess/internal/service"
	"github.com/partneraccess/partneraccess/internal/store"
)

const file = `partners:
  - id: northwind
    name: Northwind Partners
    administrators:
      - {email: admin@partner.example, name: Ada Admin}
    customers:
      - id: contoso
        name: Contoso
        permission: granted
        administrators:
          - {email: admin@contoso.example, name: Casey Contoso}
        sites:
          - {id: contoso-standard, name: Contoso Sage 200 Standard, edition: standard}
          - {id: contoso-pro, name: Contoso Sage 200 Professional, edition: professional}
`

// eachStore runs fn on a fresh SQLite store and, with PG_TEST_URL, a
// fresh PostgreSQL one (REQUIRE_POSTGRES=1 makes that one required).
func eachStore(t *testing.T, fn func(t *testing.T, st *store.Store)) {
	ctx := context.Background()
	t.Run("sqlite", func(t *testing.T) {
		st, err := store.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		fn(t, st)
	})
	t.Run("postgres", func(t *testing.T) {
		st, err := store.OpenPostgres(ctx, pgtest.NewDatabase(t), 4)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		fn(t, st)
	})
}

func apply(t *testing.T, st *store.Store, text string, opts directory.Options) (directory.Report, error) {
	t.Helper()
	f, err := directory.Parse([]byte(text))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	svc := service.New(service.Config{PublicURL: "http://127.0.0.1:8080"}, st, nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	return directory.Apply(context.Background(), st, svc, f, opts)
}

func emails(t *testing.T, st *store.Store) []store.Email {
	t.Helper()
	es, err := st.Emails(context.Background(), store.EmailFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func TestApplyCreatesThenChangesNothing(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		r, err := apply(t, st, file, directory.Options{})
		if err != nil {
			t.Fatal(err)
		}
		want := directory.Report{Partners: directory.Count{Created: 1}, Customers: directory.Count{Created: 1},
			Sites: directory.Count{Created: 2}, Administrators: directory.Count{Created: 2}, Permissions: directory.Count{Created: 1}}
		if r.Partners != want.Partners || r.Customers != want.Customers || r.Sites != want.Sites ||
			r.Administrators != want.Administrators || r.Permissions != want.Permissions || len(r.Invitations) != 2 || r.Failed() {
			t.Fatalf("first apply: %+v", r)
		}
		site, err := st.SiteByID(ctx, "contoso-pro")
		if err != nil || site.Edition != "professional" || site.PartnerID != "northwind" || !site.Permitted {
			t.Fatalf("site %+v, %v", site, err)
		}
		admin, err := st.UserByEmail(ctx, "admin@contoso.example")
		if err != nil || admin.Status != store.StatusInvited || admin.CustomerID != "contoso" ||
			!admin.HasRole(store.RoleCustomerAdmin) || admin.InvitedBy != directory.Actor {
			t.Fatalf("customer administrator %+v, %v", admin, err)
		}
		padmin, err := st.UserByEmail(ctx, "admin@partner.example")
		if err != nil || padmin.PartnerID != "northwind" || !padmin.HasRole(store.RolePartnerAdmin) {
			t.Fatalf("partner administrator %+v, %v", padmin, err)
		}
		mails := emails(t, st)
		if len(mails) != 2 {
			t.Fatalf("%d emails, want 2 invitations", len(mails))
		}
		for _, m := range mails {
			if m.Kind != "invitation" || !strings.Contains(m.Text, "http://127.0.0.1:8080/register/") ||
				!strings.Contains(m.Text, "The Partner Access operator has invited you") {
				t.Errorf("email to %s: %s\n%s", m.To, m.Subject, m.Text)
			}
		}
		audit, err := st.AuditLog(ctx, store.AuditFilter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		actions := map[string]int{}
		for _, e := range audit {
			if e.ActorID != directory.Actor {
				t.Errorf("audit %s by %q, want the operator", e.Action, e.ActorID)
			}
			actions[string(e.Action)]++
		}
		for action, n := range map[string]int{"partner.created": 1, "customer.created": 1, "site.created": 2, "permission.granted": 1,
			"user.invited": 2, "user.invitation_sent": 2} {
			if actions[action] != n {
				t.Errorf("audit: %d %s, want %d (all: %v)", actions[action], action, n, actions)
			}
		}

		// Idempotent: nothing created, no email.
		r, err = apply(t, st, file, directory.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if (r.Partners != directory.Count{Unchanged: 1}) || (r.Sites != directory.Count{Unchanged: 2}) ||
			(r.Administrators != directory.Count{Unchanged: 2}) || (r.Permissions != directory.Count{Unchanged: 1}) || len(r.Invitations) != 0 {
			t.Fatalf("second apply: %+v", r)
		}
		if n := len(emails(t, st)); n != 2 {
			t.Fatalf("second apply sent emails: %d in the mailbox, want 2", n)
		}

		// A name changes; -resend invites the administrators still invited again.
		renamed := strings.Replace(file, "name: Contoso\n", "name: Contoso Ltd\n", 1)
		r, err = apply(t, st, renamed, directory.Options{Resend: true})
		if err != nil {
			t.Fatal(err)
		}
		if (r.Customers != directory.Count{Updated: 1}) || (r.Partners != directory.Count{Unchanged: 1}) ||
			(r.Administrators != directory.Count{Updated: 2}) || len(r.Invitations) != 2 || !r.Invitations[0].Resent {
			t.Fatalf("rename and resend: %+v", r)
		}
		if c, _ := st.CustomerByID(ctx, "contoso"); c.Name != "Contoso Ltd" {
			t.Fatalf("customer name %q", c.Name)
		}
		if n := len(emails(t, st)); n != 4 {
			t.Fatalf("%d emails after -resend, want 4", n)
		}
	})
}

func TestApplyConflictingFileChangesNothing(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		if _, err := apply(t, st, file, directory.Options{}); err != nil {
			t.Fatal(err)
		}
		conflicting := `partners:
  - id: northwind
    name: Northwind Renamed
  - id: tailspin
    name: Tailspin
    administrators:
      - {email: ADMIN@contoso.example, name: Casey}
    customers:
      - id: contoso
        name: Contoso
      - id: adatum
        name: Adatum
        sites:
          - {id: contoso-pro, name: Moved, edition: professional}
          - {id: adatum-new, name: Adatum, edition: standard}
  - id: woodgrove
    name: Woodgrove
    customers:
      - id: woodgrove-bank
        name: Woodgrove Bank
        sites:
          - {id: contoso-standard, name: Contoso Sage 200 Standard, edition: professional}
`
		_, err := apply(t, st, conflicting, directory.Options{})
		var ps directory.Problems
		if !errors.As(err, &ps) {
			t.Fatalf("got %v, want Problems", err)
		}
		want := []string{
			`partners[1].administrators[0].email (line 7): ADMIN@contoso.example is already a user of customer "contoso"`,
			`partners[1].customers[0].id (line 9): customer "contoso" is already under partner "northwind"`,
			`partners[1].customers[1].sites[0].id (line 14): site "contoso-pro" already belongs to customer "contoso"`,
			`partners[2].customers[0].sites[0].id (line 22): site "contoso-standard" already belongs to customer "contoso"`,
		}
		if len(ps) != len(want) {
			t.Fatalf("got %d problems, want %d:\n%v", len(ps), len(want), ps)
		}
		for i, w := range want {
			if !strings.HasPrefix(ps[i].String(), w) {
				t.Errorf("problem %d: %q, want %q", i, ps[i].String(), w)
			}
		}
		// Nothing written: no rename, no new partner, customer or site, no email.
		if p, _ := st.PartnerByID(ctx, "northwind"); p.Name != "Northwind Partners" {
			t.Errorf("partner renamed to %q", p.Name)
		}
		for _, missing := range []func() error{
			func() error { _, err := st.PartnerByID(ctx, "tailspin"); return err },
			func() error { _, err := st.CustomerByID(ctx, "adatum"); return err },
			func() error { _, err := st.SiteByID(ctx, "adatum-new"); return err },
		} {
			if err := missing(); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("written despite the problems: %v", err)
			}
		}
		if n := len(emails(t, st)); n != 2 {
			t.Errorf("%d emails, want the first apply's 2", n)
		}
	})
}

func TestApplyRefusesAnEditionChange(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		if _, err := apply(t, st, file, directory.Options{}); err != nil {
			t.Fatal(err)
		}
		changed := strings.Replace(file, "Contoso Sage 200 Standard, edition: standard", "Contoso Sage 200 Standard, edition: professional", 1)
		_, err := apply(t, st, changed, directory.Options{})
		want := `partners[0].customers[0].sites[0].edition (line 13): site "contoso-standard" is standard; an edition does not change: add a new site with a new id for professional`
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("got %v, want %q", err, want)
		}
		if s, _ := st.SiteByID(context.Background(), "contoso-standard"); s.Edition != "standard" {
			t.Fatalf("edition changed to %s", s.Edition)
		}
	})
}

// An email the invitation would refuse is refused by the file's check,
// before anything is written: a file is applied whole or not at all.
func TestApplyRefusesLookAlikeAndHiddenCharacterEmailsBeforeWriting(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		bad := "partners:\n  - id: woodgrove\n    name: Woodgrove\n    administrators:\n" +
			"      - {email: \"\u0430dmin@woodgrove.example\", name: Ada}\n" +
			"      - {email: \"ad\u200bmin@woodgrove.example\", name: Zed}\n"
		_, err := apply(t, st, bad, directory.Options{})
		var ps directory.Problems
		if !errors.As(err, &ps) || len(ps) != 2 || !strings.Contains(ps.Error(), "mixes scripts") || !strings.Contains(ps.Error(), "U+200B") {
			t.Fatalf("got %v, want the two emails refused", err)
		}
		if _, err := st.PartnerByID(ctx, "woodgrove"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the partner was written: %v", err)
		}
	})
}

func TestParseRefusesAFileOverTheSizeCap(t *testing.T) {
	_, err := directory.Parse(make([]byte, directory.MaxFileSize+1))
	var ps directory.Problems
	if !errors.As(err, &ps) || !strings.Contains(ps.Error(), "larger than") {
		t.Fatalf("got %v, want the size refused", err)
	}
}
