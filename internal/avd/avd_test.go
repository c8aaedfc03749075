package avd_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/partneraccess/partneraccess/internal/avd"
	"github.com/partneraccess/partneraccess/internal/devarm"
	"github.com/partneraccess/partneraccess/internal/devgraph"
)

const (
	tenant = "6f1c0000-0000-4000-8000-000000000001"
	app    = "0a7e0000-0000-4000-8000-000000000002"
	sub    = "9a1c0000-0000-4000-8000-000000000001"
	secret = "arm-secret-never-shown"
	upn    = "solo.northwind@contoso.onmicrosoft.com"
)

func setup(t *testing.T) (*devarm.Server, *avd.Client) {
	t.Helper()
	g := devgraph.New()
	g.AddTenant(tenant, app, secret)
	login := httptest.NewServer(g)
	t.Cleanup(login.Close)
	a := devarm.New()
	a.Authorized = g.ARMToken
	arm := httptest.NewServer(a)
	t.Cleanup(arm.Close)
	c, err := avd.New(avd.Config{ARMURL: arm.URL, LoginURL: login.URL, TenantID: tenant, ClientID: app,
		Secret: func() (string, error) { return secret, nil }, Subscription: sub, ResourceGroup: "rg-avd",
		HostPools: []string{"pool-a", "pool-b"}, Retry: policy.RetryOptions{MaxRetries: 3, RetryDelay: 10 * time.Millisecond, MaxRetryDelay: 2 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	return a, c
}

// The user's sessions in every pool, over pages, and no one else's; each
// logged off with force, then none is listed.
func TestSessionsListedOverPagesAndLoggedOff(t *testing.T) {
	a, c := setup(t)
	ctx := context.Background()
	a.Connect(sub, "rg-avd", "pool-a", "host-1", upn)
	a.Connect(sub, "rg-avd", "pool-a", "host-2", upn)
	a.Connect(sub, "rg-avd", "pool-a", "host-2", "someone@contoso.onmicrosoft.com")
	a.Connect(sub, "rg-avd", "pool-a", "host-3", strings.ToUpper(upn))
	a.Connect(sub, "rg-avd", "pool-b", "host-9", upn)
	a.Connect(sub, "rg-avd", "pool-c", "host-9", upn) // a pool the customer did not name
	ss, err := c.Sessions(ctx, upn)
	if err != nil || len(ss) != 4 {
		t.Fatalf("sessions %+v %v, want 4 in pools a and b", ss, err)
	}
	for _, s := range ss {
		if err := c.LogOff(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if ss, err := c.Sessions(ctx, upn); err != nil || len(ss) != 0 {
		t.Fatalf("after logoff: %+v %v", ss, err)
	}
	if n := len(a.Sessions("")); n != 2 {
		t.Fatalf("%d sessions left, want the other user's and pool c's", n)
	}
	for _, r := range a.Requests() {
		if r.Method == http.MethodDelete && r.Status != http.StatusOK {
			t.Fatalf("logoff answered %d", r.Status)
		}
	}
}

func TestMessageShownInTheSession(t *testing.T) {
	a, c := setup(t)
	a.Connect(sub, "rg-avd", "pool-a", "host-1", upn)
	ss, err := c.Sessions(context.Background(), upn)
	if err != nil || len(ss) != 1 {
		t.Fatal(ss, err)
	}
	if err := c.Message(context.Background(), ss[0], "Partner Access", "Your access to Contoso Sage 200 ends at 14:00; save your work"); err != nil {
		t.Fatal(err)
	}
	if m := a.Messages(); len(m) != 1 || !strings.Contains(m[0].Body, "ends at 14:00") || m[0].UPN != upn {
		t.Fatalf("messages %+v", m)
	}
}

// A 403 names the role; a 429 is waited out (Retry-After) by the SDK.
func TestFaultsNameTheRoleAndThrottlingIsWaitedOut(t *testing.T) {
	a, c := setup(t)
	ctx := context.Background()
	a.Connect(sub, "rg-avd", "pool-a", "host-1", upn)
	a.FailNext(2, http.StatusTooManyRequests)
	start := time.Now()
	ss, err := c.Sessions(ctx, upn)
	if err != nil || len(ss) != 1 {
		t.Fatalf("after two 429s: %+v %v", ss, err)
	}
	if took := time.Since(start); took < 1900*time.Millisecond {
		t.Fatalf("two 429s with Retry-After: 1 waited only %s", took)
	}
	a.Deny(true)
	err = c.LogOff(ctx, ss[0])
	if !avd.Denied(err) || avd.Retryable(err) || !strings.Contains(err.Error(), avd.Role) || strings.Contains(err.Error(), secret) {
		t.Fatalf("denied: %v, want a refusal naming %s", err, avd.Role)
	}
	a.Deny(false)
	a.FailNext(10, http.StatusServiceUnavailable)
	if err := c.LogOff(ctx, ss[0]); !avd.Retryable(err) || avd.Denied(err) {
		t.Fatalf("after the SDK's retries of 503s: %v, want retryable", err)
	}
}
