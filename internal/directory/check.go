package directory

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/emailaddr"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/textcheck"
)

// MaxNameLen is the longest name of a partner, customer, site or person.
const MaxNameLen = 200

// slug is an ID: lowercase letters and digits, single hyphens inside.
var slug = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

const maxIDLen = 63

// checker collects the problems of a file.
type checker struct {
	f        *File
	problems Problems
	seen     map[string]string // "site:contoso-standard" or "email:a@b" -> its first path
}

func (c *checker) bad(path, format string, args ...any) {
	c.problems = append(c.problems, Problem{Path: path, Line: c.f.line(path), Text: fmt.Sprintf(format, args...)})
}

// Check finds what is wrong with the file on its own: IDs, names, emails,
// editions, permissions, and an ID or email given twice.
func (f *File) Check() Problems {
	c := &checker{f: f, seen: map[string]string{}}
	if len(f.Partners) == 0 {
		c.bad("partners", "is required: the file lists at least one partner")
	}
	for i, p := range f.Partners {
		pp := fmt.Sprintf("partners[%d]", i)
		c.id(pp, "partner", p.ID)
		c.name(pp, p.Name)
		c.people(pp, p.Administrators)
		for j, cu := range p.Customers {
			cp := fmt.Sprintf("%s.customers[%d]", pp, j)
			c.id(cp, "customer", cu.ID)
			c.name(cp, cu.Name)
			c.permission(cp, cu.Permission)
			c.people(cp, cu.Administrators)
			for k, s := range cu.Sites {
				sp := fmt.Sprintf("%s.sites[%d]", cp, k)
				c.id(sp, "site", s.ID)
				c.name(sp, s.Name)
				c.edition(sp, s.Edition)
			}
		}
	}
	return c.problems
}

func (c *checker) id(entry, kind, id string) {
	path := entry + ".id"
	switch {
	case id == "":
		c.bad(path, "is required")
	case len(id) > maxIDLen || !slug.MatchString(id):
		c.bad(path, "%q is not an ID: lowercase letters a-z and digits, with single hyphens inside, at most %d characters (e.g. contoso-standard)", id, maxIDLen)
	default:
		c.once(path, kind+" "+id, fmt.Sprintf("the %s ID %q", kind, id))
	}
}

// once reports a key seen before, naming where.
func (c *checker) once(path, key, what string) {
	if first, ok := c.seen[key]; ok {
		c.bad(path, "%s is already given at %s (line %d); each appears once in the file", what, first, c.f.line(first))
		return
	}
	c.seen[key] = path
}

func (c *checker) name(entry, name string) {
	path := entry + ".name"
	if r, bad := textcheck.First(name); bad {
		c.bad(path, "must be one line of plain text: %s (a control, format or separator character) is not allowed", textcheck.Describe(r))
		return
	}
	name = strings.TrimSpace(name)
	if name == "" {
		c.bad(path, "is required")
	} else if utf8.RuneCountInString(name) > MaxNameLen {
		c.bad(path, "is too long: at most %d characters", MaxNameLen)
	}
}

func (c *checker) people(entry string, people []Person) {
	for i, p := range people {
		pp := fmt.Sprintf("%s.administrators[%d]", entry, i)
		c.name(pp, p.Name)
		path := pp + ".email"
		// The invitation's own check, so that a file passes here only if
		// every write it asks for will pass too.
		addr, err := emailaddr.Check(p.Email)
		switch {
		case strings.TrimSpace(p.Email) == "":
			c.bad(path, "is required")
		case errors.Is(err, emailaddr.ErrNotAnAddress):
			c.bad(path, "%q is not an email address: write it alone, like name@example.com", p.Email)
		case err != nil:
			c.bad(path, "%s", err)
		default:
			c.once(path, "email "+strings.ToLower(addr), addr)
		}
	}
}

func (c *checker) edition(entry, edition string) {
	path := entry + ".edition"
	switch edition {
	case domain.EditionStandard, domain.EditionProfessional:
	case "":
		c.bad(path, "is required: %s or %s", domain.EditionStandard, domain.EditionProfessional)
	default:
		c.bad(path, "%q must be %s or %s", edition, domain.EditionStandard, domain.EditionProfessional)
	}
}

// PermissionGranted is the one value of a customer's permission here.
const PermissionGranted = "granted"

func (c *checker) permission(entry, permission string) {
	path := entry + ".permission"
	switch permission {
	case "", PermissionGranted:
	case "withdrawn":
		c.bad(path, "cannot be withdrawn here: withdrawing ends the partner's open assignments, and the customer does it "+
			"(an administrator of the customer, from its site's page or with DELETE /api/v1/customers/{customer}/partner-permission); "+
			"leave permission out to keep it as it is")
	default:
		c.bad(path, "%q must be %s, or left out to keep the permission as it is", permission, PermissionGranted)
	}
}

// against checks the file against the store: a customer stays under its
// partner, a site under its customer and with its edition, and an email
// belongs to one organization. It returns the plan of what to write.
func (f *File) against(ctx context.Context, st *store.Store, resend bool) (*plan, Problems, error) {
	c := &checker{f: f}
	pl := &plan{}
	for i, p := range f.Partners {
		pp := fmt.Sprintf("partners[%d]", i)
		old, err := st.PartnerByID(ctx, p.ID)
		if err := pl.org(kindPartner, p.ID, strings.TrimSpace(p.Name), old.Name, err); err != nil {
			return nil, nil, err
		}
		if err := c.admins(ctx, st, pl, pp, store.KindPartner, p.ID, p.Administrators, resend); err != nil {
			return nil, nil, err
		}
		for j, cu := range p.Customers {
			cp := fmt.Sprintf("%s.customers[%d]", pp, j)
			old, err := st.CustomerByID(ctx, cu.ID)
			if err == nil && old.PartnerID != p.ID {
				c.bad(cp+".id", "customer %q is already under partner %q; a customer stays under its partner: list it there", cu.ID, old.PartnerID)
				continue
			}
			if err := pl.org(kindCustomer, cu.ID, strings.TrimSpace(cu.Name), old.Name, err); err != nil {
				return nil, nil, err
			}
			pl.customerOf[cu.ID] = p.ID
			if cu.Permission == PermissionGranted {
				granted := false
				if err == nil {
					if granted, err = st.PartnerPermitted(ctx, cu.ID, p.ID); err != nil {
						return nil, nil, err
					}
				}
				pl.permission(cu.ID, p.ID, granted)
			}
			if err := c.admins(ctx, st, pl, cp, store.KindCustomer, cu.ID, cu.Administrators, resend); err != nil {
				return nil, nil, err
			}
			for k, s := range cu.Sites {
				sp := fmt.Sprintf("%s.sites[%d]", cp, k)
				old, err := st.SiteByID(ctx, s.ID)
				switch {
				case err == nil && old.CustomerID != cu.ID:
					c.bad(sp+".id", "site %q already belongs to customer %q; a site stays with its customer: give this one a new id", s.ID, old.CustomerID)
				case err == nil && old.Edition != s.Edition:
					c.bad(sp+".edition", "site %q is %s; an edition does not change: add a new site with a new id for %s", s.ID, old.Edition, s.Edition)
				default:
					if err := pl.site(s, cu.ID, p.ID, old.Name, err); err != nil {
						return nil, nil, err
					}
				}
			}
		}
	}
	return pl, c.problems, nil
}

// admins checks the administrators of one organization against the store.
func (c *checker) admins(ctx context.Context, st *store.Store, pl *plan, entry, kind, orgID string, people []Person, resend bool) error {
	for i, p := range people {
		path := fmt.Sprintf("%s.administrators[%d].email", entry, i)
		u, err := st.UserByEmail(ctx, p.Email)
		switch {
		case errors.Is(err, store.ErrNotFound):
			pl.invite(kind, orgID, strings.TrimSpace(p.Email), strings.TrimSpace(p.Name))
		case err != nil:
			return err
		case u.Kind != kind || (kind == store.KindPartner && u.PartnerID != orgID) || (kind == store.KindCustomer && u.CustomerID != orgID):
			c.bad(path, "%s is already a user of %s; an email is one person in one organization", p.Email, orgName(u))
		default:
			pl.existing(u, resend)
		}
	}
	return nil
}

func orgName(u store.User) string {
	if u.Kind == store.KindPartner {
		return fmt.Sprintf("partner %q", u.PartnerID)
	}
	return fmt.Sprintf("customer %q", u.CustomerID)
}
