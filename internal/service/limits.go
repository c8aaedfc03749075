package service

import (
	"strings"
	"time"

	"github.com/partneraccess/partneraccess/internal/metrics"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/ratelimit"
	"github.com/partneraccess/partneraccess/internal/store"
)

// Limits are the rate limits (docs/operations.md). A zero Rule takes its default.
type Limits struct {
	// LoginPerAccount counts failed logins per email address from devices
	// that never logged in to it; LoginPerDevice those from a device that
	// did (its device cookie), so that others' failures never lock the
	// owner out.
	LoginPerAccount   ratelimit.Rule
	LoginPerDevice    ratelimit.Rule
	LoginPerClient    ratelimit.Rule // failed logins per client address
	ApprovalPerClient ratelimit.Rule // approval-link POSTs per client address
	// SelfService is for registration and password reset: per client
	// address on the route, per email or invitation in the handler.
	SelfServicePerClient  ratelimit.Rule
	SelfServicePerAccount ratelimit.Rule
	// Invitations and their resends, per administrator and per address
	// invited, so that nobody can flood a mailbox with them.
	InvitePerActor   ratelimit.Rule
	InvitePerAddress ratelimit.Rule
	// SSOStartPerClient bounds the sign-ins sent to providers per client
	// address: generous, since an office's people share one address.
	SSOStartPerClient ratelimit.Rule
}

// DefaultLimits let a person mistype a few times and stop a guesser: after
// the burst, one attempt per interval.
var DefaultLimits = Limits{
	LoginPerAccount:       ratelimit.Rule{Burst: 5, Every: time.Minute},
	LoginPerDevice:        ratelimit.Rule{Burst: 5, Every: time.Minute},
	LoginPerClient:        ratelimit.Rule{Burst: 20, Every: 15 * time.Second},
	ApprovalPerClient:     ratelimit.Rule{Burst: 10, Every: 6 * time.Second},
	SelfServicePerClient:  ratelimit.Rule{Burst: 10, Every: time.Minute},
	SelfServicePerAccount: ratelimit.Rule{Burst: 3, Every: 5 * time.Minute},
	InvitePerActor:        ratelimit.Rule{Burst: 20, Every: 3 * time.Minute},
	InvitePerAddress:      ratelimit.Rule{Burst: 3, Every: 10 * time.Minute},
	SSOStartPerClient:     ratelimit.Rule{Burst: 60, Every: time.Second},
}

// Limit is a limiter with the name its refusals are counted under.
type Limit struct {
	name    string
	metrics *metrics.Metrics
	*ratelimit.Limiter
}

// Limiters are the service's limits, one bucket per key each. The login
// limits count failures inside Login; the others guard routes (per client
// address) and self-service requests (per email or link).
type Limiters struct {
	loginAccount, loginDevice, loginClient                Limit
	ApprovalClient, SelfServiceClient, SelfServiceAccount Limit
	inviteActor, inviteAddress                            Limit
	SSOStartClient                                        Limit
}

func newLimiters(l Limits, now func() time.Time, m *metrics.Metrics) Limiters {
	pick := func(r, def ratelimit.Rule) ratelimit.Rule {
		if r == (ratelimit.Rule{}) {
			return def
		}
		return r
	}
	d := DefaultLimits
	mk := func(name string, r, def ratelimit.Rule) Limit {
		return Limit{name, m, ratelimit.New(pick(r, def), now)}
	}
	return Limiters{
		loginAccount:       mk("login_account", l.LoginPerAccount, d.LoginPerAccount),
		loginDevice:        mk("login_device", l.LoginPerDevice, d.LoginPerDevice),
		loginClient:        mk("login_client", l.LoginPerClient, d.LoginPerClient),
		ApprovalClient:     mk("approval_client", l.ApprovalPerClient, d.ApprovalPerClient),
		SelfServiceClient:  mk("self_service_client", l.SelfServicePerClient, d.SelfServicePerClient),
		SelfServiceAccount: mk("self_service_account", l.SelfServicePerAccount, d.SelfServicePerAccount),
		inviteActor:        mk("invite_actor", l.InvitePerActor, d.InvitePerActor),
		SSOStartClient:     mk("sso_start_client", l.SSOStartPerClient, d.SSOStartPerClient),
		inviteAddress:      mk("invite_address", l.InvitePerAddress, d.InvitePerAddress),
	}
}

// Take takes a token for key, or answers too many requests.
func (l Limit) Take(key string) error {
	if wait, ok := l.Allow(key); !ok {
		return l.tooMany(wait)
	}
	return nil
}

// tooMany is the refusal of an attempt beyond a limit. It is counted in a
// metric, never written to the audit log: a flood must not grow the store.
func (l Limit) tooMany(wait time.Duration) *problem.Error {
	l.metrics.Limited(l.name)
	return problem.TooManyRequests(wait, "too many attempts; try again in %d seconds", ratelimit.RetryAfter(wait))
}

// AccountKey is an email address as a limit key: case and spaces do not
// make a new account, and the key stays short.
func AccountKey(email string) string {
	k := strings.ToLower(strings.TrimSpace(email))
	if len(k) > 254 {
		k = k[:254]
	}
	return k
}

// invitation takes one invitation email from the administrator's budget
// and from the address's.
func (l Limiters) invitation(by store.User, email string) error {
	if err := l.inviteActor.Take(by.ID); err != nil {
		return err
	}
	return l.inviteAddress.Take(AccountKey(email))
}
