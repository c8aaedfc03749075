package textcheck_test

import (
	"testing"

	"github.com/partneraccess/partneraccess/internal/textcheck"
)

func TestFirstFindsDisplayChangingCharacters(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want rune // 0: none
	}{
		{"plain", "Case 4711: deploy update", 0},
		{"accents and CJK", "Réunion — 東京 ✓", 0},
		{"RLO", "invoice\u202Egpj.exe", 0x202E},
		{"LRI", "a\u2066b", 0x2066},
		{"zero width space", "a\u200Bb", 0x200B},
		{"zero width joiner", "a\u200Db", 0x200D},
		{"BOM", "\uFEFFa", 0xFEFF},
		{"soft hyphen", "a\u00ADb", 0xAD},
		{"line separator", "a\u2028b", 0x2028},
		{"paragraph separator", "a\u2029b", 0x2029},
		{"next line", "a\u0085b", 0x85},
		{"newline", "a\nb", '\n'},
		{"tab", "a\tb", '\t'},
		{"DEL", "a\x7fb", 0x7f},
		{"invalid UTF-8", "a\xffb", 0xFFFD},
		{"tag character", "a\U000E0041b", 0xE0041},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, found := textcheck.First(tc.in)
			if found != (tc.want != 0) || r != tc.want {
				t.Fatalf("First(%q) = %U %v, want %U", tc.in, r, found, tc.want)
			}
		})
	}
}
