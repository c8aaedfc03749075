// Package redirect decides where a "next" parameter may send a browser: only
// to a path on this site. Browsers are lenient (they drop tabs and newlines,
// read a backslash as a slash, and treat "//host" as another site), so
// anything that a lenient reader could take off-site is refused.
package redirect

import (
	"net/url"
	"strings"

	"github.com/partneraccess/partneraccess/internal/textcheck"
)

// maxLen bounds a next path; longer ones are not links a page makes.
const maxLen = 2048

// SameOrigin returns next when it is a path on this site, else fallback.
func SameOrigin(next, fallback string) string {
	if ok(next) {
		return next
	}
	return fallback
}

func ok(next string) bool {
	if next == "" || len(next) > maxLen || next[0] != '/' {
		return false
	}
	// Control and format characters first: url.Parse refuses some of them
	// but a browser silently drops others (tab, newline) and reads on.
	if _, bad := textcheck.First(next); bad || strings.ContainsAny(next, "\\ ") {
		return false
	}
	if strings.HasPrefix(next, "//") {
		return false
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return false
	}
	// The decoded path must hold up too: "/%2F/host" or "/%5Chost" are
	// harmless to a browser, but may be decoded by something in between.
	if !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") || strings.Contains(u.Path, "\\") {
		return false
	}
	if _, bad := textcheck.First(u.Path); bad {
		return false
	}
	return true
}
