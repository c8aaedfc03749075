package redirect_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/partneraccess/partneraccess/internal/redirect"
)

const fallback = "/sites"

// Bypasses are next values that have sent browsers off-site in the wild.
var Bypasses = []string{
	"//evil.example",
	"///evil.example",
	"/\\evil.example",
	"\\\\evil.example",
	"\\/evil.example",
	"/\t/evil.example",
	"/\n/evil.example",
	"/\r\n/evil.example",
	"\t//evil.example",
	" //evil.example",
	"/ /evil.example",
	"/\x00/evil.example",
	"/\u2028/evil.example",
	"/\u202e/evil.example",
	"https://evil.example",
	"http:evil.example",
	"https:/evil.example",
	"javascript:alert(1)",
	"data:text/html,<script>alert(1)</script>",
	"evil.example",
	"@evil.example",
	"/%2F/evil.example",
	"/%2f%2fevil.example",
	"/%5Cevil.example",
	"/%09/evil.example",
	"%2F%2Fevil.example",
	"",
}

// Allowed are paths on this site that must be kept.
var Allowed = []string{
	"/sites",
	"/sites/contoso-standard",
	"/assignments/abc?notice=created",
	"/credentials/abc#top",
	"/a/b%20c",
	"/",
}

func TestKnownBypassesFallBack(t *testing.T) {
	for _, next := range Bypasses {
		if got := redirect.SameOrigin(next, fallback); got != fallback {
			t.Errorf("SameOrigin(%q) = %q, want the fallback", next, got)
		}
	}
	for _, next := range Allowed {
		if got := redirect.SameOrigin(next, fallback); got != next {
			t.Errorf("SameOrigin(%q) = %q, want it kept", next, got)
		}
	}
}

// FuzzSameOrigin checks that whatever next is, the answer resolves to this
// site, read strictly (net/url) or leniently (as a browser does: tabs and
// newlines dropped, backslashes as slashes, leading spaces trimmed).
func FuzzSameOrigin(f *testing.F) {
	for _, s := range append(Bypasses, Allowed...) {
		f.Add(s)
	}
	base, _ := url.Parse("https://access.example/login")
	f.Fuzz(func(t *testing.T, next string) {
		got := redirect.SameOrigin(next, fallback)
		if got != fallback && got != next {
			t.Fatalf("SameOrigin(%q) = %q: neither the input nor the fallback", next, got)
		}
		lenient := strings.NewReplacer("\t", "", "\n", "", "\r", "", "\\", "/").Replace(strings.TrimLeft(got, " \x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f"))
		for _, s := range []string{got, lenient} {
			ref, err := url.Parse(s)
			if err != nil {
				t.Fatalf("SameOrigin(%q) = %q, which does not parse: %v", next, got, err)
			}
			if u := base.ResolveReference(ref); u.Host != base.Host || u.Scheme != base.Scheme || u.User != nil {
				t.Fatalf("SameOrigin(%q) = %q leads to %s", next, got, u)
			}
		}
	})
}
