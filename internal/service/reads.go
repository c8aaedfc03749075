package service

import (
	"context"
	"errors"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/policy"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/rules"
	"github.com/partneraccess/partneraccess/internal/store"
)

// Sites is the site dashboard of a user: a partner user sees the sites of
// its partner's customers, a customer user its own customer's.
func (s *Service) Sites(ctx context.Context, u store.User) ([]store.Site, error) {
	if u.Kind == store.KindPartner {
		return s.store.SitesForPartner(ctx, u.PartnerID)
	}
	return s.store.SitesForCustomer(ctx, u.CustomerID)
}

// SiteDetail is one site with who could be assigned and its assignments.
type SiteDetail struct {
	Site        store.Site
	Assignable  []store.User // partner users only: the caller's partner's users
	Assignments []store.Assignment
	// NoPermission, for a partner user, says why nobody can be assigned (R1).
	NoPermission *problem.Error
	// Policy is the customer's policy in force at the site (R10), and
	// PolicyWords what it asks of a request, in words.
	Policy      policy.Effective
	PolicyWords string
}

// Site is one site the user may see, with its assignments.
func (s *Service) Site(ctx context.Context, u store.User, siteID string) (SiteDetail, error) {
	site, err := s.rules.VisibleSite(ctx, u, siteID)
	if err != nil {
		return SiteDetail{}, err
	}
	d := SiteDetail{Site: site}
	if d.Policy, err = s.sitePolicy(site); err != nil {
		return d, err
	}
	d.PolicyWords = policyWords(site, d.Policy)
	f := store.AssignmentFilter{SiteID: site.ID, Limit: 50}
	if u.Kind == store.KindPartner {
		f.PartnerID = u.PartnerID
		if d.Assignable, err = s.store.PartnerUsers(ctx, u.PartnerID); err != nil {
			return d, err
		}
		if !site.Permitted {
			partner, err := s.store.PartnerByID(ctx, u.PartnerID)
			if err != nil {
				return d, err
			}
			d.NoPermission = problem.As(rules.NoPermission(site.CustomerName, partner.Name))
		}
	}
	d.Assignments, err = s.store.Assignments(ctx, f)
	return d, err
}

// CustomerView is a customer user's view of its customer: its partner, the
// permission (R1), and who has access now.
type CustomerView struct {
	Customer         store.Customer
	Partner          store.Partner
	Permitted        bool
	CanSetPermission bool
	HaveAccess       []AccessNow
}

// AccessNow is a partner user whose access to one of the customer's sites
// is active or being set up, with whether the reader may end it.
type AccessNow struct {
	store.Assignment
	CanEnd bool
}

// Customer is the customer of a customer user, as its sites page shows it.
func (s *Service) Customer(ctx context.Context, u store.User) (CustomerView, error) {
	var v CustomerView
	var err error
	if v.Customer, err = s.store.CustomerByID(ctx, u.CustomerID); err != nil {
		return v, err
	}
	if v.Permitted, err = s.store.PartnerPermitted(ctx, v.Customer.ID, v.Customer.PartnerID); err != nil {
		return v, err
	}
	if v.Partner, err = s.store.PartnerByID(ctx, v.Customer.PartnerID); err != nil {
		return v, err
	}
	v.CanSetPermission = rules.CanSetPermission(u, v.Customer.ID) == nil
	// Scheduled access is listed with the access in force: it is given
	// already, and the customer may end it before it starts.
	for _, state := range []string{domain.StateActive, domain.StateProvisioning, domain.StateScheduled} {
		as, err := s.store.Assignments(ctx, store.AssignmentFilter{CustomerID: u.CustomerID, State: state})
		if err != nil {
			return v, err
		}
		for _, a := range as {
			v.HaveAccess = append(v.HaveAccess, AccessNow{Assignment: a, CanEnd: rules.CanUnassign(u, a) == nil})
		}
	}
	return v, nil
}

// AssignmentQuery selects assignments in the reader's tenant.
type AssignmentQuery struct {
	SiteID, State, PartnerUserID string
}

// Assignments lists the assignments of the reader's partner or customer.
func (s *Service) Assignments(ctx context.Context, u store.User, q AssignmentQuery) ([]store.Assignment, error) {
	f := store.AssignmentFilter{SiteID: q.SiteID, State: q.State, PartnerUserID: q.PartnerUserID}
	if u.Kind == store.KindPartner {
		f.PartnerID = u.PartnerID
	} else {
		f.CustomerID = u.CustomerID
	}
	return s.store.Assignments(ctx, f)
}

// PendingRequest is an assignment waiting for decisions, with the
// approvals it has so far.
type PendingRequest struct {
	store.Assignment
	Approvals []store.Approval
}

// PendingRequests are a customer's assignments waiting for a decision.
func (s *Service) PendingRequests(ctx context.Context, u store.User) ([]PendingRequest, error) {
	if u.Kind != store.KindCustomer {
		return nil, problem.NotFound("", "pending requests are for customer users")
	}
	as, err := s.store.Assignments(ctx, store.AssignmentFilter{CustomerID: u.CustomerID, State: domain.StatePendingApproval})
	if err != nil {
		return nil, err
	}
	rs := make([]PendingRequest, len(as))
	for i, a := range as {
		rs[i].Assignment = a
		// Only a request that needs several approvals has any to show
		// before it is settled; the others cost no read.
		if a.ApprovalsRequired > 1 {
			if rs[i].Approvals, err = s.store.ApprovalsOf(ctx, a.ID); err != nil {
				return nil, err
			}
		}
	}
	return rs, nil
}

// PendingExtensions lists the requests for more time at the customer user's
// customer that wait for a decision: its approvers decide them on the same
// pages as first requests (R4).
func (s *Service) PendingExtensions(ctx context.Context, u store.User) ([]store.PendingExtension, error) {
	if u.Kind != store.KindCustomer {
		return nil, problem.NotFound("", "pending requests are for customer users")
	}
	return s.store.PendingExtensions(ctx, u.CustomerID)
}

// AssignmentDetail is one assignment with what the store keeps of it beyond
// the workflow's history: its emails and extension requests.
type AssignmentDetail struct {
	store.Assignment
	Emails     []store.Email
	Extensions []store.Extension
	// Chats are the requests delivered to approvers in a chat (Teams,
	// Slack), each with how its delivery stands.
	Chats []store.ChatDelivery
	// Approvals are the approvals that counted, of the request and of
	// each extension request, oldest first.
	Approvals []store.Approval
	// RevocationPending says what keeps the customer's directory from
	// letting the access go, while it does (nil otherwise).
	RevocationPending *store.PendingRevocation
	// Credential: a temporary password was issued (Professional, or a new
	// account in the customer's directory).
	Credential bool
	// Names are the people the extension requests name, by user ID.
	Names map[string]string
}

// Assignment is one assignment the reader may see, with its record.
func (s *Service) Assignment(ctx context.Context, u store.User, id string) (AssignmentDetail, error) {
	a, err := s.rules.VisibleAssignment(ctx, u, id)
	if err != nil {
		return AssignmentDetail{}, err
	}
	d := AssignmentDetail{Assignment: a}
	if d.Emails, err = s.store.Emails(ctx, store.EmailFilter{AssignmentID: a.ID}); err != nil {
		return d, err
	}
	if d.Extensions, err = s.store.Extensions(ctx, a.ID); err != nil {
		return d, err
	}
	if d.Chats, err = s.store.ChatDeliveries(ctx, a.ID); err != nil {
		return d, err
	}
	if d.Approvals, err = s.store.ApprovalsOf(ctx, a.ID); err != nil {
		return d, err
	}
	d.Names = map[string]string{}
	for _, x := range d.Extensions {
		for _, id := range []string{x.RequestedBy, x.DecidedBy} {
			if _, ok := d.Names[id]; !ok && id != "" {
				d.Names[id] = s.personName(ctx, id)
			}
		}
	}
	d.Credential = s.hasCredential(ctx, a.ID)
	p, err := s.store.PendingRevocationOf(ctx, a.ID)
	switch {
	case err == nil:
		d.RevocationPending = &p
	case !errors.Is(err, store.ErrNotFound):
		return d, err
	}
	return d, nil
}

// VisibleAssignment is an assignment the reader may see, else not found.
func (s *Service) VisibleAssignment(ctx context.Context, u store.User, id string) (store.Assignment, error) {
	return s.rules.VisibleAssignment(ctx, u, id)
}

// HistoryKept says whether Temporal still keeps the assignment's history;
// known is false when Temporal did not answer in time.
func (s *Service) HistoryKept(ctx context.Context, a store.Assignment) (kept, known bool) {
	kept, err := s.wf.Kept(ctx, run(a))
	return kept, err == nil
}

// Access answers whether a user may reach a site now: the grant in force,
// or ok false. reader, when not nil, must be able to see the site (a
// gateway with its token asks without one). One indexed read, never a
// cache, so a revocation counts from the next check on.
func (s *Service) Access(ctx context.Context, reader *store.User, siteID, userID string) (g store.Grant, ok bool, err error) {
	if reader != nil {
		if _, err := s.rules.VisibleSite(ctx, *reader, siteID); err != nil {
			return g, false, err
		}
	}
	g, err = s.store.ActiveGrant(ctx, siteID, userID, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return g, false, nil
	}
	return g, err == nil, err
}

// AuditLog is the audit log of the reader's partner or customer.
func (s *Service) AuditLog(ctx context.Context, u store.User, assignmentID string, limit int) ([]store.AuditEntry, error) {
	f := store.AuditFilter{AssignmentID: assignmentID, Limit: limit}
	if u.Kind == store.KindPartner {
		f.PartnerID = u.PartnerID
	} else {
		f.CustomerID = u.CustomerID
	}
	return s.store.AuditLog(ctx, f)
}

// MailboxQuery narrows the local mailbox: to one address, of one
// assignment (empty: all).
type MailboxQuery struct {
	To, AssignmentID string
}

// Mailbox is the local mailbox (emails kept, not sent), oldest first.
// reader, when not nil, sees only the mail to its own organization's
// users: an administrator beyond loopback must not read another tenant's
// approval or password-reset links. nil is the operator (or a mailbox on
// loopback), who sees all.
func (s *Service) Mailbox(ctx context.Context, reader *store.User, q MailboxQuery) ([]store.Email, error) {
	f := store.EmailFilter{Status: store.EmailLocal, To: q.To, AssignmentID: q.AssignmentID, Limit: 1000}
	if reader != nil {
		if reader.Kind == store.KindPartner {
			f.PartnerID = reader.PartnerID
		} else {
			f.CustomerID = reader.CustomerID
		}
		if f.PartnerID == "" && f.CustomerID == "" {
			return nil, nil
		}
	}
	return s.store.Emails(ctx, f)
}

// ApprovalsOfRequest are the approvals of one request of an assignment:
// the first (extension 0) or an extension request.
func ApprovalsOfRequest(all []store.Approval, extension int) []store.Approval {
	var of []store.Approval
	for _, a := range all {
		if a.Extension == extension {
			of = append(of, a)
		}
	}
	return of
}
