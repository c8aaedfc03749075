// Package demo loads the demo data of SPEC §8: partners, customers, users and
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

// Logins lists who to log in as, and what for.
var Logins = []Login{
	{"admin@partner.example", "Northwind partner administrator: invite, suspend and reactivate Northwind's users, set their roles"},
	{"agent@partner.example", "Northwind partner agent (two roles): assign users, follow assignments"},
	{"solo@partner.example", "Northwind partner agent (one role)"},
	{"admin@contoso.example", "Contoso administrator: approve Standard requests, grant permission"},
	{"ops@contoso.example", "Contoso operations agent: approve Standard requests"},
	{"admin@fabrikam.example", "Fabrikam administrator (Professional site)"},
	{"admin@litware.example", "Litware administrator (has not given permission)"},
}

// Load adds the demo data unless it is already there. cost is the bcrypt
// cost of the passwords (bcrypt.DefaultCost outside tests).
func Load(ctx context.Context, s *store.Store, cost int) error {
	hash, err := bcrypt.GenerateFromPassword([]byte(Password), cost)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	registered := &now
	partner := func(id, email, name, status string, roles ...string) store.User {
		u := store.User{ID: id, Email: email, Name: name, Kind: store.KindPartner, PartnerID: Northwind,
			Status: status, RegisteredAt: registered, PasswordHash: string(hash), Roles: roles}
		if status == store.StatusInvited {
			u.RegisteredAt, u.PasswordHash = nil, ""
		}
		return u
	}
	admin := partner(PartnerAdmin, "admin@partner.example", "Ada Admin", store.StatusActive, store.RolePartnerAdmin)
	if _, err := s.PartnerByID(ctx, Northwind); err == nil {
		// Demo data loaded by an earlier version lacks the partner
		// administrator; add it once.
		if _, err := s.UserByID(ctx, PartnerAdmin); errors.Is(err, store.ErrNotFound) {
			if err := s.CreateUser(ctx, admin); err != nil && !store.IsConstraint(err) {
				return err
			}
		}
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	customer := func(id, customerID, email, name string, roles ...string) store.User {
		return store.User{ID: id, Email: email, Name: name, Kind: store.KindCustomer, CustomerID: customerID,
			Status: store.StatusActive, RegisteredAt: registered, PasswordHash: string(hash), Roles: roles}
	}
	tailspinAgent := partner(TailspinAgent, "agent@tailspin.example", "Tara Tailspin", store.StatusActive, store.RolePartnerSupportAgent)
	tailspinAgent.PartnerID = Tailspin

	steps := []func() error{
		func() error { return s.CreatePartner(ctx, store.Partner{ID: Northwind, Name: "Northwind Partners"}) },
		func() error { return s.CreatePartner(ctx, store.Partner{ID: Tailspin, Name: "Tailspin Partners"}) },
		func() error {
			return s.CreateCustomer(ctx, store.Customer{ID: Contoso, Name: "Contoso", PartnerID: Northwind})
		},
		func() error {
			return s.CreateCustomer(ctx, store.Customer{ID: Fabrikam, Name: "Fabrikam", PartnerID: Northwind})
		},
		func() error {
			return s.CreateCustomer(ctx, store.Customer{ID: Litware, Name: "Litware", PartnerID: Northwind})
		},
		func() error {
			return s.CreateCustomer(ctx, store.Customer{ID: Adatum, Name: "Adatum", PartnerID: Tailspin})
		},
		func() error {
			return s.CreateSite(ctx, store.Site{ID: ContosoSite, Name: "Contoso Sage 200 Standard", CustomerID: Contoso, Edition: domain.EditionStandard})
		},
		func() error {
			return s.CreateSite(ctx, store.Site{ID: FabrikamSite, Name: "Fabrikam Sage 200 Professional", CustomerID: Fabrikam, Edition: domain.EditionProfessional})
		},
		func() error {
			return s.CreateSite(ctx, store.Site{ID: LitwareSite, Name: "Litware Sage 200 Standard", CustomerID: Litware, Edition: domain.EditionStandard})
		},
		func() error {
			return s.CreateSite(ctx, store.Site{ID: AdatumSite, Name: "Adatum Sage 200 Standard", CustomerID: Adatum, Edition: domain.EditionStandard})
		},
		func() error { return s.CreateUser(ctx, admin) },
		func() error {
			return s.CreateUser(ctx, partner(Agent, "agent@partner.example", "Alex Agent", store.StatusActive,
				store.RolePartnerSupportAgent, store.RolePartnerConsultant))
		},
		func() error {
			return s.CreateUser(ctx, partner(Solo, "solo@partner.example", "Sam Solo", store.StatusActive, store.RolePartnerSupportAgent))
		},
		func() error {
			return s.CreateUser(ctx, partner(Invited, "invited@partner.example", "Ivy Invited", store.StatusInvited, store.RolePartnerSupportAgent))
		},
		func() error {
			return s.CreateUser(ctx, partner(Suspended, "suspended@partner.example", "Stan Suspended", store.StatusSuspended, store.RolePartnerConsultant))
		},
		func() error { return s.CreateUser(ctx, tailspinAgent) },
		func() error {
			return s.CreateUser(ctx, customer(ContosoAdmin, Contoso, "admin@contoso.example", "Casey Contoso", store.RoleCustomerAdmin))
		},
		func() error {
			return s.CreateUser(ctx, customer(ContosoOps, Contoso, "ops@contoso.example", "Olive Ops", store.RoleCustomerOps))
		},
		func() error {
			return s.CreateUser(ctx, customer(ContosoViewer, Contoso, "viewer@contoso.example", "Vic Viewer"))
		},
		func() error {
			return s.CreateUser(ctx, customer(FabrikamAdmin, Fabrikam, "admin@fabrikam.example", "Fran Fabrikam", store.RoleCustomerAdmin))
		},
		func() error {
			return s.CreateUser(ctx, customer(LitwareAdmin, Litware, "admin@litware.example", "Lee Litware", store.RoleCustomerAdmin))
		},
		func() error {
			return s.CreateUser(ctx, customer(AdatumAdmin, Adatum, "admin@adatum.example", "Ada Adatum", store.RoleCustomerAdmin))
		},
		func() error { return s.SetPartnerPermission(ctx, Contoso, Northwind, true, ContosoAdmin, now) },
		func() error { return s.SetPartnerPermission(ctx, Fabrikam, Northwind, true, FabrikamAdmin, now) },
		func() error { return s.SetPartnerPermission(ctx, Adatum, Tailspin, true, AdatumAdmin, now) },
	}
	for i, step := range steps {
		err := step()
		if i == 0 && store.IsConstraint(err) {
			return nil // another process sharing the store is loading it
		}
		if err != nil {
			return fmt.Errorf("demo data step %d: %w", i+1, err)
		}
	}
	return nil
}
