package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/partneraccess/partneraccess/internal/service"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/wire"
	"github.com/partneraccess/partneraccess/server"
)

// TestDirectoryApplyInvitesAdministratorsWhoRegisterAndLogIn runs the
// command as an operator would, then follows the invitation from the store
// mailbox through the real registration and login handlers.
// exampleFile copies the example directory file into dir.
func exampleFile(t *testing.T, dir string) string {
	t.Helper()
	example, err := os.ReadFile("deploy/directory.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "directory.yaml")
	if err := os.WriteFile(file, example, 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestDirectoryApplyInvitesAdministratorsWhoRegisterAndLogIn(t *testing.T) {
	dir := t.TempDir()
	file := exampleFile(t, dir)
	env := map[string]string{"DATA_DIR": filepath.Join(dir, "data"), "PUBLIC_URL": "http://127.0.0.1:8080"}
	getenv := func(k string) string { return env[k] }
	var out, errs strings.Builder
	if code := run(context.Background(), []string{"directory", "apply", "-f", file}, getenv, &out, &errs); code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out.String(), errs.String())
	}
	for _, want := range []string{"partners        1 created", "administrators  3 invited", "/dev/mail"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	// Mail stays in the store, which nobody can read before logging in:
	// the operator gets each administrator's link to hand over.
	firstReport := out.String()
	if strings.Count(firstReport, "kept in the store's mailbox, not sent; give them this link: http://127.0.0.1:8080/register/") != 3 {
		t.Errorf("the report does not give the three invitation links:\n%s", firstReport)
	}

	// Applying again changes nothing and sends nothing.
	out.Reset()
	if code := run(context.Background(), []string{"directory", "apply", "-f", file}, getenv, &out, &errs); code != 0 ||
		!strings.Contains(out.String(), "administrators  0 invited, 0 invited again, 3 unchanged") || !strings.Contains(out.String(), "No invitation sent.") {
		t.Fatalf("second apply: exit %d\n%s%s", code, out.String(), errs.String())
	}

	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dir, "data", "partner-access.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	mails, err := st.Emails(ctx, store.EmailFilter{To: "admin@contoso.example"})
	if err != nil || len(mails) != 1 {
		t.Fatalf("emails to the Contoso administrator: %d, %v; want one invitation", len(mails), err)
	}
	m := regexp.MustCompile(`http://127\.0\.0\.1:8080/register/([A-Za-z0-9_-]+)`).FindStringSubmatch(mails[0].Text)
	if m == nil {
		t.Fatalf("no /register/ link in the invitation:\n%s", mails[0].Text)
	}
	if !strings.Contains(firstReport, m[0]) {
		t.Fatalf("the report's links are not the emails' (%s):\n%s", m[0], firstReport)
	}

	srv, _ := wire.Server(wire.HTTP{Service: service.Config{PublicURL: "http://127.0.0.1:8080", PasswordCost: bcrypt.MinCost},
		Server: server.Config{PublicURL: "http://127.0.0.1:8080"}}, st, nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	h := srv.Handler()
	post := func(path, body string) (int, string) {
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8080"+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	const pw = "a long and unguessable passphrase 7"
	reg, _ := json.Marshal(map[string]string{"token": m[1], "password": pw})
	if code, body := post("/api/v1/registrations", string(reg)); code != http.StatusOK {
		t.Fatalf("register: %d %s", code, body)
	}
	code, body := post("/api/v1/session", `{"email":"admin@contoso.example","password":"`+pw+`"}`)
	if code != http.StatusCreated || !strings.Contains(body, `"status":"active"`) {
		t.Fatalf("login: %d %s", code, body)
	}
	u, err := st.UserByEmail(ctx, "admin@contoso.example")
	if err != nil || u.Status != store.StatusActive || !u.HasRole(store.RoleCustomerAdmin) {
		t.Fatalf("registered administrator %+v, %v", u, err)
	}
}

func TestDirectoryCommandLineErrors(t *testing.T) {
	dir := t.TempDir()
	getenv := func(k string) string {
		if k == "DATA_DIR" {
			return dir
		}
		return ""
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"directory"}, "directory: say what to do: partneraccess directory apply -f directory.yaml"},
		{[]string{"directory", "remove", "-f", "x.yaml"}, `directory: unknown command "remove"; the only one is "apply"`},
		{[]string{"directory", "apply"}, "DIRECTORY_FILE: is required: partneraccess directory apply -f directory.yaml"},
		{[]string{"directory", "apply", "-f", filepath.Join(dir, "missing.yaml")}, "DIRECTORY_FILE: stat "},
	}
	for _, tc := range cases {
		var out, errs strings.Builder
		code := run(context.Background(), tc.args, getenv, &out, &errs)
		if code != 2 || !strings.Contains(errs.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, errs.String(), tc.want)
		}
	}
}

// Beyond loopback the service serves the mailbox only with DEV_MAILBOX (or
// MAILBOX=store): the report sends nobody to a /dev/mail that answers 404.
func TestDirectoryApplyBeyondLoopbackPointsToTheLinksNotAMailboxThatIsOff(t *testing.T) {
	dir := t.TempDir()
	file := exampleFile(t, dir)
	for _, tc := range []struct {
		mailbox string
		want    string
		not     string
	}{
		{"", "unless DEV_MAILBOX=true", "/dev/mail."},
		{"true", "https://access.example.com/dev/mail", "unless DEV_MAILBOX=true"},
	} {
		env := map[string]string{"DATA_DIR": filepath.Join(dir, "data-"+tc.mailbox), "PUBLIC_URL": "https://access.example.com",
			"HTTP_ADDR": "0.0.0.0:8080", "DEV_MAILBOX": tc.mailbox}
		var out, errs strings.Builder
		if code := run(context.Background(), []string{"directory", "apply", "-f", file}, func(k string) string { return env[k] }, &out, &errs); code != 0 {
			t.Fatalf("exit %d\n%s%s", code, out.String(), errs.String())
		}
		if !strings.Contains(out.String(), tc.want) || strings.Contains(out.String(), tc.not) {
			t.Errorf("DEV_MAILBOX=%q: the report, want %q and not %q:\n%s", tc.mailbox, tc.want, tc.not, out.String())
		}
	}
}
