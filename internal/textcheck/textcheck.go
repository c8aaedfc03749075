// Package textcheck finds the characters that free text (reasons, names)
// must not carry because they change how text is displayed: control
// characters, bidi overrides and the other format characters (Unicode
// category Cf), and the line and paragraph separators.
package textcheck

import (
	"fmt"
	"strings"
	"unicode"
)

// Forbidden reports whether r may not appear in a line of free text.
func Forbidden(r rune) bool {
	switch {
	case r == unicode.ReplacementChar: // invalid UTF-8 decodes to it
		return true
	case r == '\u2028', r == '\u2029', r == '\u0085':
		return true
	}
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r)
}

// First returns the first forbidden character of s and whether there is one.
func First(s string) (rune, bool) {
	i := strings.IndexFunc(s, Forbidden)
	if i < 0 {
		return 0, false
	}
	for _, r := range s[i:] {
		return r, true
	}
	return 0, false
}

// Describe names a forbidden character for a message, e.g. "U+202E".
func Describe(r rune) string {
	return fmt.Sprintf("U+%04X", r)
}
