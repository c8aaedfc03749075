// Package devgraph is an in-process stand-in for Microsoft Graph and Entra
// ID's token endpoint: the dev directory that one-process mode with demo
// data wires Contoso and Fabrikam to, and the tests' fake of Graph. It
// answers the calls internal/graph makes as Graph documents them: OData
// errors, @odata.nextLink paging, 429 with Retry-After, replication lag
// after a create, and 403 Authorization_RequestDenied. It records every
// request, so a test can show that no user was deleted and that a member
// was only ever removed through its /$ref.
package devgraph

import (
	"cmp"
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Directory is the stand-in: tenants with their app registration, users
// and groups. It is an http.Handler, safe for concurrent use; its knobs
// (Deny, WriteRate, Lag, FailNext) may be turned while it serves.
type Directory struct {
	// PageSize is the most members one page lists (999, Graph's most for
	// $top; a page without $top lists 100). Set it before serving.
	PageSize int
	// TokenTTL is how long a token works (an hour, as Entra's). Set it
	// before serving.
	TokenTTL time.Duration

	mu        sync.Mutex
	tenants   map[string]*tenant
	tokens    map[string]token // by access token
	tokenN    int
	requests  []Request
	writeRate float64 // writes a second each tenant takes; 0: no limit
	lose      int     // the next writes to apply but answer with no answer
	lag       int
	faults    []fault // the next Graph calls' failures, in order
	version   uint64
	changed   chan struct{} // closed at the next change
}

type tenant struct {
	clientID, secret string
	denied           bool
	users            map[string]*user // by object ID
	upns             map[string]*user // by lower-case UPN: UPNs are unique regardless of case
	groups           map[string]*group
	writes           *rate.Limiter // nil: writes are not limited
}

type user struct {
	id, upn, name   string
	enabled         bool
	forceChange     bool
	passwordsSet    int
	sessionsRevoked int
	lag             int // reads that still answer 404
}

type group struct {
	id, name string
	members  []membership // in the order added
	seq      uint64       // the last membership's
}

// membership orders a group's members for paging: a page's $skiptoken is
// the last seq it listed, so members removed meanwhile move no one across
// a page boundary.
type membership struct {
	userID string
	seq    uint64
}

type token struct {
	tenant  string
	expires time.Time
	scope   string
}

// fault is n Graph calls to fail with status.
type fault struct{ n, status int }

// New returns an empty directory.
func New() *Directory {
	return &Directory{
		PageSize: 999,
		TokenTTL: time.Hour,
		tenants:  map[string]*tenant{},
		tokens:   map[string]token{},
		changed:  make(chan struct{}),
	}
}

// AddTenant adds a tenant whose app registration is clientID, with secret.
func (d *Directory) AddTenant(tenantID, clientID, secret string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.tenants[tenantID] = &tenant{clientID: clientID, secret: secret,
		users: map[string]*user{}, upns: map[string]*user{}, groups: map[string]*group{}}
	d.touch()
}

// AddGroup adds a security group to a tenant.
func (d *Directory) AddGroup(tenantID, groupID, displayName string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.tenant(tenantID).groups[groupID] = &group{id: groupID, name: displayName}
	d.touch()
}

// AddUser adds one of the customer's own users, enabled, and returns its
// object ID.
func (d *Directory) AddUser(tenantID, upn, displayName string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	u := &user{id: newID(), upn: upn, name: displayName, enabled: true}
	d.tenant(tenantID).add(u)
	d.touch()
	return u.id
}

// RestoreUser puts back an account known by its object ID: the dev
// directory, rebuilt from the store when the process starts again.
func (d *Directory) RestoreUser(tenantID, id, upn, displayName string, enabled bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t := d.tenant(tenantID)
	if old := t.users[id]; old != nil {
		delete(t.upns, strings.ToLower(old.upn))
	}
	t.add(&user{id: id, upn: upn, name: displayName, enabled: enabled})
	d.touch()
}

// AddToGroup makes a user a member of a group, as the customer might.
func (d *Directory) AddToGroup(tenantID, groupID, userID string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t := d.tenant(tenantID)
	if t.users[userID] == nil {
		panic(fmt.Sprintf("devgraph: no user %s in tenant %s", userID, tenantID))
	}
	t.group(groupID).add(userID)
	d.touch()
}

// RemoveFromGroup takes a user out of a group, as the customer might.
func (d *Directory) RemoveFromGroup(tenantID, groupID, userID string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.tenant(tenantID).group(groupID).remove(userID)
	d.touch()
}

// Deny makes every Graph call of the tenant answer 403
// Authorization_RequestDenied, as a missing permission or admin consent
// does; Deny(tenantID, false) ends it.
func (d *Directory) Deny(tenantID string, denied bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.tenant(tenantID).denied = denied
}

// WriteRate limits each tenant's Graph writes (anything but GET) to
// perSecond, with a burst of a second's worth, as Graph limits one app in
// one tenant; beyond it they answer 429 TooManyRequests with
// Retry-After: 1. Zero lifts the limit.
func (d *Directory) WriteRate(perSecond float64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.writeRate = perSecond
	for _, t := range d.tenants {
		t.writes = nil
	}
}

// LoseNext makes the next n Graph writes happen but their answers never
// arrive (the connection closes first), as when a network drops an answer.
func (d *Directory) LoseNext(n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lose += n
}

// Lag makes each user created from now on answer 404 to its next n reads
// (GET /users/{id or UPN}, and adding it to a group), as Graph does while
// a new object replicates. Lag(0) ends it.
func (d *Directory) Lag(n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lag = n
}

// FailNext makes the next n Graph calls answer status (a 5xx) with an
// OData error, after those already set to fail.
func (d *Directory) FailNext(n, status int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if n > 0 {
		d.faults = append(d.faults, fault{n: n, status: status})
	}
}

// Request is one request the directory answered.
type Request struct {
	Method string
	Path   string // without the query
	Status int
	Lost   bool // done, but its answer never reached the client (LoseNext)
}

// Requests lists the requests answered so far, in order.
func (d *Directory) Requests() []Request {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.requests)
}

// TokenRequests counts the tokens issued.
func (d *Directory) TokenRequests() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.tokenN
}

// Changed returns a channel closed at the next change to any tenant's
// users or groups, and the version it follows: a page waits on it to show
// the directory live.
func (d *Directory) Changed() (<-chan struct{}, uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.changed, d.version
}

// Tenant is what a tenant holds, for tests and the dev page.
type Tenant struct {
	ID     string
	Users  []User  // by UPN
	Groups []Group // by name
}

// User is an account, without its password.
type User struct {
	ID, UPN, DisplayName string
	Enabled              bool
	ForceChange          bool // must change the password at the next sign-in
	PasswordsSet         int  // at creation and each reset since
	SessionsRevoked      int
}

// Group is a group and its members' UPNs, sorted.
type Group struct {
	ID, Name string
	Members  []string
}

// Snapshot is the tenant now; empty for a tenant it does not hold.
func (d *Directory) Snapshot(tenantID string) Tenant {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := Tenant{ID: tenantID}
	t := d.tenants[tenantID]
	if t == nil {
		return out
	}
	for _, u := range t.users {
		out.Users = append(out.Users, User{ID: u.id, UPN: u.upn, DisplayName: u.name, Enabled: u.enabled,
			ForceChange: u.forceChange, PasswordsSet: u.passwordsSet, SessionsRevoked: u.sessionsRevoked})
	}
	slices.SortFunc(out.Users, func(a, b User) int { return cmp.Or(cmp.Compare(a.UPN, b.UPN), cmp.Compare(a.ID, b.ID)) })
	for _, g := range t.groups {
		og := Group{ID: g.id, Name: g.name}
		for _, m := range g.members {
			og.Members = append(og.Members, t.users[m.userID].upn)
		}
		slices.Sort(og.Members)
		out.Groups = append(out.Groups, og)
	}
	slices.SortFunc(out.Groups, func(a, b Group) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) })
	return out
}

// Poke marks a change made elsewhere (the dev directory's desktop
// sessions): waiters on Changed wake up.
func (d *Directory) Poke() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.touch()
}

// touch marks a change: waiters on Changed wake up.
func (d *Directory) touch() {
	d.version++
	close(d.changed)
	d.changed = make(chan struct{})
}

// tenant is a tenant the caller set up; asking for another is a bug in
// the caller.
func (d *Directory) tenant(id string) *tenant {
	t := d.tenants[id]
	if t == nil {
		panic("devgraph: no tenant " + id)
	}
	return t
}

func (t *tenant) group(id string) *group {
	g := t.groups[id]
	if g == nil {
		panic("devgraph: no group " + id)
	}
	return g
}

// user finds a user by object ID or UPN.
func (t *tenant) user(key string) *user {
	if u := t.users[key]; u != nil {
		return u
	}
	return t.upns[strings.ToLower(key)]
}

func (t *tenant) add(u *user) {
	if other := t.upns[strings.ToLower(u.upn)]; other != nil && other.id != u.id {
		panic("devgraph: another user has the UPN " + u.upn)
	}
	t.users[u.id] = u
	t.upns[strings.ToLower(u.upn)] = u
}

// deleteUser deletes a user and its memberships, as Graph does.
func (t *tenant) deleteUser(u *user) {
	delete(t.users, u.id)
	delete(t.upns, strings.ToLower(u.upn))
	for _, g := range t.groups {
		g.remove(u.id)
	}
}

func (g *group) has(userID string) bool {
	return slices.ContainsFunc(g.members, func(m membership) bool { return m.userID == userID })
}

func (g *group) add(userID string) {
	if !g.has(userID) {
		g.seq++
		g.members = append(g.members, membership{userID: userID, seq: g.seq})
	}
}

func (g *group) remove(userID string) {
	g.members = slices.DeleteFunc(g.members, func(m membership) bool { return m.userID == userID })
}

// newID returns a random (version 4) GUID, the form of Entra's object IDs.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[:4], b[4:6], b[6:8], b[8:10], b[10:])
}
