package secret_test

import (
	"bytes"
	"strings"
	"testing"
	"unicode"

	"github.com/partneraccess/partneraccess/internal/secret"
)

func keys(t testing.TB) *secret.Keys {
	k, err := secret.NewKeys(bytes.Repeat([]byte{7}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestApprovalTokenIsStablePerApproverAndParses(t *testing.T) {
	k := keys(t)
	a := k.ApprovalToken("asg-1", "admin")
	if a != k.ApprovalToken("asg-1", "admin") {
		t.Fatal("a retried email would carry another link")
	}
	if a == k.ApprovalToken("asg-1", "ops") || a == k.ApprovalToken("asg-2", "admin") {
		t.Fatal("tokens must differ per approver and assignment")
	}
	if got, err := secret.ParseToken(a); err != nil || got != a {
		t.Fatalf("ParseToken(%q) = %q, %v", a, got, err)
	}
	other, _ := secret.NewKeys(bytes.Repeat([]byte{8}, secret.KeySize))
	if other.ApprovalToken("asg-1", "admin") == a {
		t.Fatal("another key must give another token")
	}
}

func TestShortMasterKeyIsRefused(t *testing.T) {
	if _, err := secret.NewKeys([]byte("short")); err == nil {
		t.Fatal("a short key was accepted")
	}
}

func TestSealedCredentialOpensOnlyForItsOwner(t *testing.T) {
	k := keys(t)
	c := k.Seal([]byte("Pa55word!"), "asg-1")
	if bytes.Contains(c, []byte("Pa55word!")) {
		t.Fatal("plaintext visible in the ciphertext")
	}
	if p, err := k.Open(c, "asg-1"); err != nil || string(p) != "Pa55word!" {
		t.Fatalf("open: %q %v", p, err)
	}
	if _, err := k.Open(c, "asg-2"); err == nil {
		t.Fatal("a credential opened for another assignment")
	}
}

func TestNewPasswordIsStrong(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		p := secret.NewPassword()
		if len(p) < 16 || !strings.ContainsFunc(p, unicode.IsUpper) || !strings.ContainsFunc(p, unicode.IsLower) ||
			!strings.ContainsFunc(p, unicode.IsDigit) || !strings.ContainsAny(p, "!@#$%*+-=?") {
			t.Fatalf("weak password %q", p)
		}
		if seen[p] {
			t.Fatalf("password repeated: %q", p)
		}
		seen[p] = true
	}
}

func FuzzParseToken(f *testing.F) {
	k := keys(f)
	f.Add(k.ApprovalToken("a", "b"))
	f.Add("")
	f.Add(strings.Repeat("A", secret.TokenLen))
	f.Add(strings.Repeat("=", secret.TokenLen))
	f.Add("../../etc/passwd")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := secret.ParseToken(s)
		if err != nil {
			if got != "" {
				t.Fatalf("error with a value: %q", got)
			}
			return
		}
		if got != s || len(got) != secret.TokenLen {
			t.Fatalf("ParseToken(%q) = %q", s, got)
		}
		for _, r := range got {
			if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				t.Fatalf("accepted a token with %q, unsafe in a URL path", r)
			}
		}
		if len(secret.HashToken(got)) != 32 {
			t.Fatal("hash size")
		}
	})
}

func TestDeviceCookieIsBoundToItsAccountAndKey(t *testing.T) {
	k := keys(t)
	other, err := secret.NewKeys(secret.NewMasterKey())
	if err != nil {
		t.Fatal(err)
	}
	c := k.DeviceCookie("owner@example.com")
	changed := "B" + c[1:]
	if c[0] == 'B' { // one cookie in 64 starts so: change it to another letter
		changed = "C" + c[1:]
	}
	if id, ok := k.DeviceID(c, "owner@example.com"); !ok || len(id) != secret.TokenLen {
		t.Fatalf("own cookie: %q %v", id, ok)
	}
	for name, bad := range map[string]struct{ cookie, account string }{
		"another account": {c, "someone@example.com"},
		"a changed ID":    {changed, "owner@example.com"},
		"no MAC":          {c[:secret.TokenLen], "owner@example.com"},
		"empty":           {"", "owner@example.com"},
	} {
		if _, ok := k.DeviceID(bad.cookie, bad.account); ok {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, ok := other.DeviceID(c, "owner@example.com"); ok {
		t.Error("another key accepted the cookie")
	}
}
