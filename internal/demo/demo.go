// Package demo loads the demo data (README): partners, customers, users and
// sites to try the service with. Tests use it as their fixture too.
package demo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/store"
)

// Password is every demo user's password.
const Password = "demo-password"

// IDs of the demo records, for tests and the README.
const (
	Northwind = "northwind"
	Tailspin  = "tailspin"

	Contoso  = "contoso"
	Fabrikam = "fabrikam"
	Litware  = "litware"
	Adatum   = "adatum"

	ContosoSite  = "contoso-standard"
	FabrikamSite = "fabrikam-professional"
	LitwareSite  = "litware-standard"
	AdatumSite   = "adatum-standard"
	// ContosoFinance is under a policy of its own (R10): two approvals and
	// a ticket reference, beside ContosoSite under the seed's rules.
	ContosoFinance = "contoso-finance"

	PartnerAdmin  = "northwind-admin"
	Agent         = "northwind-agent"
	Solo          = "northwind-solo"
	Invited       = "northwind-invited"
	Suspended     = "northwind-suspended"
	TailspinAgent = "tailspin-agent"
	ContosoAdmin  = "contoso-admin"
	ContosoOps    = "contoso-ops"
	ContosoViewer = "contoso-viewer"
	FabrikamAdmin = "fabrikam-admin"
	LitwareAdmin  = "litware-admin"
	AdatumAdmin   = "adatum-admin"
)

// Login is a demo login for the README and the start banner.
type Login struct {
	Email, Does string
}

// Logins lists who to log in as, and what for: every demo user, the
// README's table and the start banner alike.
var Logins = []Login{
	{"admin@partner.example", "Northwind partner administrator: invite, suspend and reactivate Northwind's users, set their roles"},
	{"agent@partner.example", "Northwind partner agent (two roles): assign users, follow assignments"},
	{"solo@partner.example", "Northwind partner agent (one role)"},
	{"admin@contoso.example", "Contoso administrator: approve Standard requests, grant permission"},
	{"ops@contoso.example", "Contoso operations agent: approve Standard requests"},
	{"admin@fabrikam.example", "Fabrikam administrator (Professional site)"},
	{"admin@litware.example", "Litware administrator (has not given permission)"},
	{"viewer@contoso.example", "Contoso user without a role: sees Contoso's sites, approves nothing"},
	{"invited@partner.example", "Northwind user who has not registered yet: cannot log in nor be assigned (R2)"},
	{"suspended@partner.example", "Northwind user who is suspended: cannot log in nor be assigned (R2)"},
	{"agent@tailspin.example", "Tailspin Partners agent: a second partner, who sees none of Northwind's data"},
	{"admin@adatum.example", "Adatum administrator, Tailspin's customer"},
}

// The demo directory: two partners, four customers with a site each, and
// a second Contoso site under a policy of its own.
var (
	partners  = []store.Partner{{ID: Northwind, Name: "Northwind Partners"}, {ID: Tailspin, Name: "Tailspin Partners"}}
	customers = []store.Customer{
		{ID: Contoso, Name: "Contoso", PartnerID: Northwind},
		{ID: Fabrikam, Name: "Fabrikam", PartnerID: Northwind},
		{ID: Litware, Name: "Litware", PartnerID: Northwind},
		{ID: Adatum, Name: "Adatum", PartnerID: Tailspin},
	}
	sites = []store.Site{
		{ID: ContosoSite, Name: "Contoso Sage 200 Standard", CustomerID: Contoso, Edition: domain.EditionStandard},
		{ID: FabrikamSite, Name: "Fabrikam Sage 200 Professional", CustomerID: Fabrikam, Edition: domain.EditionProfessional},
		{ID: LitwareSite, Name: "Litware Sage 200 Standard", CustomerID: Litware, Edition: domain.EditionStandard},
		{ID: AdatumSite, Name: "Adatum Sage 200 Standard", CustomerID: Adatum, Edition: domain.EditionStandard},
		{ID: ContosoFinance, Name: "Contoso Sage 200 Finance", CustomerID: Contoso, Edition: domain.EditionStandard,
			Policy: FinancePolicy},
	}
	// permissions: the customers that have given their partner permission
	// (R1), and which of their administrators did. Litware has not.
	permissions = []struct{ customer, partner, by string }{
		{Contoso, Northwind, ContosoAdmin}, {Fabrikam, Northwind, FabrikamAdmin}, {Adatum, Tailspin, AdatumAdmin},
	}
)

// FinancePolicy is ContosoFinance's own policy, as stored (R10).
const FinancePolicy = `{"approvals":2,"reason_pattern":"^(CS|INC)-[0-9]{4,}","reason_example":"CS-1234: month-end upgrade"}`

// user is a demo user before its password and registration are filled in.
type user struct {
	id, org, email, name, status string
	roles                        []string
}

var (
	partnerUsers = []user{
		{PartnerAdmin, Northwind, "admin@partner.example", "Ada Admin", store.StatusActive, []string{store.RolePartnerAdmin}},
		{Agent, Northwind, "agent@partner.example", "Alex Agent", store.StatusActive, []string{store.RolePartnerSupportAgent, store.RolePartnerConsultant}},
		{Solo, Northwind, "solo@partner.example", "Sam Solo", store.StatusActive, []string{store.RolePartnerSupportAgent}},
		{Invited, Northwind, "invited@partner.example", "Ivy Invited", store.StatusInvited, []string{store.RolePartnerSupportAgent}},
		{Suspended, Northwind, "suspended@partner.example", "Stan Suspended", store.StatusSuspended, []string{store.RolePartnerConsultant}},
		{TailspinAgent, Tailspin, "agent@tailspin.example", "Tara Tailspin", store.StatusActive, []string{store.RolePartnerSupportAgent}},
	}
	customerUsers = []user{
		{ContosoAdmin, Contoso, "admin@contoso.example", "Casey Contoso", store.StatusActive, []string{store.RoleCustomerAdmin}},
		{ContosoOps, Contoso, "ops@contoso.example", "Olive Ops", store.StatusActive, []string{store.RoleCustomerOps}},
		{ContosoViewer, Contoso, "viewer@contoso.example", "Vic Viewer", store.StatusActive, nil},
		{FabrikamAdmin, Fabrikam, "admin@fabrikam.example", "Fran Fabrikam", store.StatusActive, []string{store.RoleCustomerAdmin}},
		{LitwareAdmin, Litware, "admin@litware.example", "Lee Litware", store.StatusActive, []string{store.RoleCustomerAdmin}},
		{AdatumAdmin, Adatum, "admin@adatum.example", "Ada Adatum", store.StatusActive, []string{store.RoleCustomerAdmin}},
	}
)

// record makes the store's user: registered with the demo password, unless
// it is still invited.
func (u user) record(kind, hash string, now time.Time) store.User {
	r := store.User{ID: u.id, Email: u.email, Name: u.name, Kind: kind, Status: u.status, Roles: u.roles}
	if kind == store.KindPartner {
		r.PartnerID = u.org
	} else {
		r.CustomerID = u.org
	}
	if u.status != store.StatusInvited {
		r.RegisteredAt, r.PasswordHash = &now, hash
	}
	return r
}

// Load adds the demo data unless it is already there. cost is the bcrypt
// cost of the passwords (bcrypt.DefaultCost outside tests).
func Load(ctx context.Context, s *store.Store, cost int) error {
	hash, err := bcrypt.GenerateFromPassword([]byte(Password), cost)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	if _, err := s.PartnerByID(ctx, Northwind); err == nil {
		return addPartnerAdmin(ctx, s, partnerUsers[0].record(store.KindPartner, string(hash), now))
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	err = loadDirectory(ctx, s)
	if errors.Is(err, errLoadedElsewhere) {
		return nil
	}
	if err == nil {
		err = loadUsers(ctx, s, string(hash), now)
	}
	for _, p := range permissions {
		if err != nil {
			break
		}
		err = s.SetPartnerPermission(ctx, p.customer, p.partner, true, p.by, now)
	}
	if err != nil {
		return fmt.Errorf("demo data: %w", err)
	}
	return nil
}

// errLoadedElsewhere: another process sharing the store is loading it.
var errLoadedElsewhere = errors.New("demo data loaded by another process")

func loadDirectory(ctx context.Context, s *store.Store) error {
	for i, p := range partners {
		err := s.CreatePartner(ctx, p)
		if i == 0 && store.IsConstraint(err) {
			return errLoadedElsewhere
		}
		if err != nil {
			return err
		}
	}
	for _, c := range customers {
		if err := s.CreateCustomer(ctx, c); err != nil {
			return err
		}
	}
	for _, site := range sites {
		if err := s.CreateSite(ctx, site); err != nil {
			return err
		}
		if site.Policy == "" {
			continue
		}
		if err := s.SetSitePolicy(ctx, site.ID, site.Policy); err != nil {
			return err
		}
	}
	return nil
}

func loadUsers(ctx context.Context, s *store.Store, hash string, now time.Time) error {
	for _, u := range partnerUsers {
		if err := s.CreateUser(ctx, u.record(store.KindPartner, hash, now)); err != nil {
			return err
		}
	}
	for _, u := range customerUsers {
		if err := s.CreateUser(ctx, u.record(store.KindCustomer, hash, now)); err != nil {
			return err
		}
	}
	return nil
}

// addPartnerAdmin adds, once, the partner administrator that demo data
// loaded by an earlier version lacks.
func addPartnerAdmin(ctx context.Context, s *store.Store, admin store.User) error {
	if _, err := s.UserByID(ctx, admin.ID); !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err := s.CreateUser(ctx, admin); err != nil && !store.IsConstraint(err) {
		return err
	}
	return nil
}
