package server

import "testing"

func TestRuleLinksEscapeTheRestOfTheText(t *testing.T) {
	cases := []struct{ in, want string }{
		{"open one (R8); here", `open one (<a href="/docs/rules#r8">R8</a>); here`},
		{"<b>(R1)</b> & (R11) R2", `&lt;b&gt;(<a href="/docs/rules#r1">R1</a>)&lt;/b&gt; &amp; (R11) R2`},
		{"(R10)", `(<a href="/docs/rules#r10">R10</a>)`},
		{"no rule", "no rule"},
	}
	for _, tc := range cases {
		if got := string(withRuleLinks(tc.in)); got != tc.want {
			t.Errorf("withRuleLinks(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
