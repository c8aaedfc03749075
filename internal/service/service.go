// Package service is the application service: the use cases of Partner
// Access (assign, decide, unassign, extend, permission, users, invitations,
// credentials, sessions) between the HTTP server and the engine. It applies
// the rules (internal/rules), reads and writes the store, reaches the
// workflows only through a typed workflow client, and answers refusals as
// *problem.Error, each audited once. It knows nothing of HTTP.
package service

import (
	"context"
	"errors"
	"github.com/partneraccess/partneraccess/internal/chat"
	"log/slog"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/partneraccess/partneraccess/internal/mail"
	"github.com/partneraccess/partneraccess/internal/metrics"
	"github.com/partneraccess/partneraccess/internal/policy"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/rules"
	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/internal/sso"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/target"
	"github.com/partneraccess/partneraccess/internal/wfclient"
	"github.com/partneraccess/partneraccess/workflows"
)

// Config is what the service needs from the service configuration.
type Config struct {
	// PublicURL is where people reach the service; links in emails start with it.
	PublicURL string
	Timing    workflows.Timing
	// Mail sends the emails of the user lifecycle (invitation, password
	// reset) that the service sends itself; nil keeps them in the store's
	// mailbox, as the activities do.
	Mail     mail.Sender
	MailFrom mail.Address
	// InvitationTTL and PasswordResetTTL are how long the one-time links work.
	InvitationTTL, PasswordResetTTL time.Duration
	SessionTTL                      time.Duration
	// DecisionWait is how long a decision waits to learn its outcome.
	DecisionWait time.Duration
	// PasswordCost is the bcrypt cost of new passwords (0: bcrypt's default).
	PasswordCost int
	Limits       Limits
	// EntraLoginURL is Entra ID's sign-in host (empty: Microsoft's public
	// cloud), whose issuers' preferred_username names the user.
	EntraLoginURL string
	// PolicyCeiling is POLICY_MAX_DURATION: no customer's policy passes it
	// (0: policy.DefaultCeiling).
	PolicyCeiling time.Duration
	// ReviewEvery is REVIEW_EVERY: an organization's review period, unless
	// its own setting says otherwise (0: DefaultReviewEvery).
	ReviewEvery time.Duration
}

// Workflows is what the service asks of the assignment workflows;
// *wfclient.Client is the real one, and unit tests give a fake.
type Workflows interface {
	Start(ctx context.Context, in workflows.Input, summary, details string) (wfclient.Run, error)
	Decide(ctx context.Context, r wfclient.Run, by workflows.Person, extension int, approve bool, via string) (string, error)
	Unassign(ctx context.Context, r wfclient.Run, by workflows.Person, reason, cause string) error
	RequestExtension(ctx context.Context, r wfclient.Run, by workflows.Person, d time.Duration, reason string) (string, error)
	Status(ctx context.Context, r wfclient.Run) (workflows.Status, error)
	SignalOutcome(ctx context.Context, r wfclient.Run, id string) (workflows.SignalOutcome, bool, error)
	Kept(ctx context.Context, r wfclient.Run) (bool, error)
	Reissue(ctx context.Context, in target.Input) error
	Ping(ctx context.Context) error
}

// Service holds the use cases.
type Service struct {
	cfg     Config
	store   *store.Store
	wf      Workflows
	rules   *rules.Checker
	keys    *secret.Keys
	log     *slog.Logger
	metrics *metrics.Metrics
	now     func() time.Time
	// Limits are the rate limits the server and the service apply.
	Limits Limiters
	// SSO reaches the organizations' own sign-in providers; nil: nobody
	// signs in through one (directory apply, tests of other things).
	SSO *sso.Client
	// Chats are the chat channels beside email (Teams, Slack); a request
	// names those its customer opted in to (none: email alone).
	Chats chat.Registry
	// anonymous samples the audit rows of refusals nobody logged in made.
	anonymous *sampler
	// resets queues password-reset requests for sendResets, which starts
	// with the first request (directory apply and most tests make none).
	resets     chan string
	resetsOnce sync.Once
}

// New returns a service. wf may be nil where nothing reaches the workflows
// (directory apply); m may be nil (nothing is recorded).
func New(cfg Config, st *store.Store, wf Workflows, keys *secret.Keys, log *slog.Logger, m *metrics.Metrics) *Service {
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.DecisionWait == 0 {
		cfg.DecisionWait = 3 * time.Second
	}
	if cfg.InvitationTTL == 0 {
		cfg.InvitationTTL = 7 * 24 * time.Hour
	}
	if cfg.PasswordResetTTL == 0 {
		cfg.PasswordResetTTL = time.Hour
	}
	if cfg.PasswordCost == 0 {
		cfg.PasswordCost = bcrypt.DefaultCost
	}
	if cfg.MailFrom.Email == "" {
		cfg.MailFrom = mail.Address{Name: "Partner Access", Email: "partner-access@provisioning.example"}
	}
	if cfg.PolicyCeiling == 0 {
		cfg.PolicyCeiling = policy.DefaultCeiling
	}
	if m == nil {
		m = metrics.New(nil, st)
	}
	s := &Service{
		cfg: cfg, store: st, wf: wf, keys: keys, log: log,
		metrics: m, now: time.Now, anonymous: newSampler(time.Minute), resets: make(chan string, resetQueue),
	}
	s.rules = &rules.Checker{Store: st, Defaults: s.policyDefaults(), Now: func() time.Time { return s.now() }}
	s.Limits = newLimiters(cfg.Limits, nil, m)
	s.SSO = &sso.Client{RedirectURL: strings.TrimRight(cfg.PublicURL, "/") + "/sso/callback", EntraLoginURL: cfg.EntraLoginURL}
	return s
}

// Config is the configuration the service runs with, defaults filled in.
func (s *Service) Config() Config { return s.cfg }

// Metrics is where the service records; the server records there too.
func (s *Service) Metrics() *metrics.Metrics { return s.metrics }

// errTemporalDown is honest for both an unreachable and a slow Temporal: a
// start that timed out may still have happened, and a retry finds it (R8).
var errTemporalDown = problem.Unavailable("the workflow service (Temporal) did not answer; please try again shortly (repeating the request is safe: it never starts a second assignment or decision)")

// engineErr maps the workflow client's errors to what the caller is told.
func engineErr(err error) error {
	switch {
	case errors.Is(err, wfclient.ErrEnded):
		return problem.Conflict("the assignment has already ended")
	case errors.Is(err, wfclient.ErrUnavailable):
		return errTemporalDown
	case errors.Is(err, wfclient.ErrNotRecorded):
		return errNotRecorded
	}
	return err
}

// errNotRecorded: the store refused the record a start needs before it is
// made (SPEC §7), so nothing was started.
var errNotRecorded = problem.Unavailable("the store could not record the start, so nothing was started; please try again shortly")

// run is the workflow run of an assignment: its ID is the run's ID.
func run(a store.Assignment) wfclient.Run {
	return wfclient.Run{WorkflowID: a.WorkflowID, RunID: a.ID}
}

// Ready reports whether the store and Temporal answer.
func (s *Service) Ready(ctx context.Context) (storeErr, temporalErr error) {
	storeErr = s.store.Ping(ctx)
	if s.wf == nil {
		return storeErr, errors.New("no workflow client")
	}
	return storeErr, s.wf.Ping(ctx)
}

func person(u store.User) workflows.Person {
	return workflows.Person{ID: u.ID, Name: u.Name, Email: u.Email}
}

func persons(us []store.User) []workflows.Person {
	ps := make([]workflows.Person, len(us))
	for i, u := range us {
		ps[i] = person(u)
	}
	return ps
}
