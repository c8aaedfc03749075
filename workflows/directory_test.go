package workflows_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/target"
	"github.com/partneraccess/partneraccess/workflows"
)

// scriptedDirectory is a target.Directory that records its calls and
// answers as scripted; the real one (internal/entra) is tested against a
// fake of Graph through the whole service.
type scriptedDirectory struct {
	mu       sync.Mutex
	calls    []string
	member   bool
	refuse   error // every Provision fails with it
	failures int   // Deprovision fails this many times first
}

func (d *scriptedDirectory) Provision(_ context.Context, _ store.Target, in target.Input) (target.ProvisionResult, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, "provision "+in.Edition)
	if d.refuse != nil {
		return target.ProvisionResult{}, d.refuse
	}
	d.member = true
	return target.ProvisionResult{Login: in.UserID + "." + in.PartnerID + "@contoso.example", Created: true, Credential: true}, nil
}

func (d *scriptedDirectory) Deprovision(context.Context, store.Target, target.Input) (time.Duration, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, "deprovision")
	if d.failures > 0 {
		d.failures--
		return 0, errors.New("graph: 503 serviceUnavailable")
	}
	d.member = false
	return time.Millisecond, nil
}

func (d *scriptedDirectory) Reissue(context.Context, store.Target, target.Input) error {
	return errors.New("not scripted")
}

func (d *scriptedDirectory) Drift(context.Context, store.Target, string, time.Time) ([]target.DriftRepair, error) {
	return nil, nil
}

func (d *scriptedDirectory) isMember() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.member
}

// inEntra makes the customer's access target Entra ID, served by d.
func (f *fixture) inEntra(customerID string, d *scriptedDirectory) {
	f.t.Helper()
	if err := f.store.SetCustomerTarget(context.Background(), customerID, &store.Target{Kind: store.TargetEntra,
		TenantID: "6f1c0000-0000-0000-0000-000000000001", ClientID: "0a7e0000-0000-0000-0000-000000000002",
		SecretEnv: "GRAPH_SECRET", UserDomain: "contoso.example"}); err != nil {
		f.t.Fatal(err)
	}
	f.acts.Directories = map[string]target.Directory{store.TargetEntra: d}
}

func TestDirectoryStandardIsActiveOnlyWithTheMembershipAndLosesItAtExpiry(t *testing.T) {
	f := newFixture(t, nil)
	dir := &scriptedDirectory{}
	f.inEntra(demo.Contoso, dir)
	f.at(time.Hour, f.signal(workflows.SignalApproval, approve(f, demo.ContosoAdmin, true)))
	f.at(2*time.Hour, func() {
		if st := f.query(); st.State != domain.StateActive || !dir.isMember() {
			t.Errorf("state %s, member %v during access", st.State, dir.isMember())
		}
	})
	st := f.run(f.standardInput())
	if st.State != domain.StateExpired || dir.isMember() {
		t.Fatalf("status %+v, member %v: want expired and the membership gone", st, dir.isMember())
	}
	if got := strings.Join(dir.calls, ", "); got != "provision standard, deprovision" {
		t.Fatalf("directory calls: %s", got)
	}
	if count(f.emails(), "credential_link ") != 1 {
		t.Fatalf("no credential link for the new account: %v", f.emails())
	}
	if a := strings.Join(f.audit(), " "); !strings.Contains(a, "access.provisioned") || !strings.Contains(a, "revocation.proven") {
		t.Fatalf("audit %s", a)
	}
}

func TestDirectoryRefusalEndsFailedNamingWhyAndUndoes(t *testing.T) {
	f := newFixture(t, nil)
	dir := &scriptedDirectory{refuse: &target.Error{Msg: "graph: 403 Authorization_RequestDenied (needs GroupMember.ReadWrite.All)", Permanent: true}}
	f.inEntra(demo.Contoso, dir)
	f.at(time.Hour, f.signal(workflows.SignalApproval, approve(f, demo.ContosoAdmin, true)))
	st := f.run(f.standardInput())
	if st.State != domain.StateFailed || !strings.Contains(st.Failure, "GroupMember.ReadWrite.All") {
		t.Fatalf("status %+v, want failed naming the permission", st)
	}
	if got := strings.Join(dir.calls, ", "); got != "provision standard, deprovision" {
		t.Fatalf("directory calls %s: want one attempt (not retried) and the undo", got)
	}
	if f.hasAccess(*st.EndedAt) {
		t.Fatal("a gateway grant after the directory refused")
	}
	if n := count(f.emails(), "access_failed "); n != 5 {
		t.Fatalf("%d access_failed emails, want both sides (5): %v", n, f.emails())
	}
	if a := f.assignment(); a.State != domain.StateFailed || a.Decision != domain.DecisionApproved {
		t.Fatalf("store %+v", a)
	}
}

func TestDirectoryStillDownAfterProvisionRetryForEndsFailed(t *testing.T) {
	f := newFixture(t, nil)
	dir := &scriptedDirectory{refuse: &target.Error{Msg: "graph: 503 serviceUnavailable"}}
	f.inEntra(demo.Contoso, dir)
	in := f.standardInput()
	in.Timing.ProvisionRetryFor = 10 * time.Minute
	f.at(time.Hour, f.signal(workflows.SignalApproval, approve(f, demo.ContosoAdmin, true)))
	st := f.run(in)
	if st.State != domain.StateFailed || !strings.Contains(st.Failure, "within 10m0s") {
		t.Fatalf("status %+v, want failed after the retry window", st)
	}
	if n := strings.Count(strings.Join(dir.calls, ","), "provision standard"); n < 3 {
		t.Fatalf("provision tried %d times, want retries within the window", n)
	}
}

func TestDirectoryProfessionalMakesTheCredentialThereAndRevokesOnUnassign(t *testing.T) {
	f := newFixture(t, nil)
	dir := &scriptedDirectory{failures: 2}
	f.inEntra(demo.Fabrikam, dir)
	f.at(time.Hour, f.signal(workflows.SignalUnassign, workflows.UnassignSignal{By: person(t, f.store, demo.FabrikamAdmin)}))
	st := f.run(f.professionalInput())
	if st.State != domain.StateRevoked || dir.isMember() {
		t.Fatalf("status %+v member %v", st, dir.isMember())
	}
	if got := strings.Join(dir.calls, ", "); got != "provision professional, deprovision, deprovision, deprovision" {
		t.Fatalf("directory calls %s: want removal retried until done", got)
	}
	if n, err := f.store.RevocationsPending(context.Background()); err != nil || n != 0 {
		t.Fatalf("%d revocations pending (%v) once proven", n, err)
	}
}
