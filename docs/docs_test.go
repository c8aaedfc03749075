package docs

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestEveryMarkdownLinkInTheRepositoryStaysInsideAndResolves(t *testing.T) {
	if _, err := os.Stat(filepath.Join("..", "go.mod")); err != nil {
		t.Fatalf("the repository root is not the parent of docs/: %v", err)
	}
	if err := checkLinks(".."); err != nil {
		t.Fatalf("broken links in the repository's Markdown:\n%v", err)
	}
}

func TestLinkCheckFindsWhatIsBroken(t *testing.T) {
	cases := []struct {
		name, markdown, want string
	}{
		{"outside", "see [spec](../outside.md)", "points outside the repository"},
		{"outside in HTML", `<a href="../../x.md">x</a>`, "points outside the repository"},
		{"missing file", "see [it](docs/missing.md)", "does not exist"},
		{"missing anchor", "see [R10](docs/rules.md#r10)", "does not have"},
		{"missing anchor here", "[up](#nowhere)", "does not have"},
		{"site path", "[rules](/docs/rules)", "root of a web site"},
		{"fine", "[R4](docs/rules.md#r4), [why](docs/rules.md#why-it-matters), [top](#readme), [web](https://example.com/x)", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "repo")
			write(t, filepath.Join(root, "docs", "rules.md"), "<a id=\"r4\"></a>\n\n## R4 · Approval\n\n## Why it matters\n")
			write(t, filepath.Join(root, "README.md"), "# Readme\n\n"+tc.markdown+"\n")
			write(t, filepath.Join(filepath.Dir(root), "outside.md"), "# Outside\n")
			err := checkLinks(root)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("want no problem, got %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want a problem saying %q", err, tc.want)
			}
		})
	}
}

// codePath is a Go file or a package directory of this repository.
var codePath = regexp.MustCompile(`[\w./-]+\.go\b|\b(internal|workflows|activities|server)/[\w./-]*`)

func TestRulesPageHasAStableAnchorPerRule(t *testing.T) {
	html, err := RulesHTML()
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= 9; n++ {
		id := fmt.Sprintf("r%d", n)
		if !bytes.Contains(html, []byte(fmt.Sprintf(`<h2 id="%s">R%d `, id, n))) {
			t.Errorf("the rendered rules have no heading with id %q", id)
		}
		// Markdown viewers other than the service see the explicit anchors.
		if !bytes.Contains(rulesMarkdown, []byte(fmt.Sprintf(`<a id="%s"></a>`, id))) {
			t.Errorf("rules.md has no anchor %q for other Markdown viewers", id)
		}
	}
	// The notes for maintainers stay in rules.md, out of the users' page.
	if n := bytes.Count(rulesMarkdown, []byte("**"+maintainerNote+"**")); n < 9 {
		t.Errorf("rules.md has %d notes of where each rule lives, want one per rule", n)
	}
	if bytes.Contains(html, []byte(maintainerNote)) || bytes.Contains(html, []byte("rules.CheckAssign")) {
		t.Error("the served rules show the maintainers' notes of where the code is")
	}
	// Nor anywhere else: users are not shown the code's files or packages.
	for _, p := range codePath.FindAll(html, -1) {
		t.Errorf("the served rules show the code path %q; move it into a %q note", p, maintainerNote)
	}
	if bytes.Contains(html, []byte(`<a id=`)) {
		t.Error("raw HTML anchors leaked into the served page; ids would be duplicated")
	}
}

// The served page stands alone: a relative link to another file would be
// dead at /docs/rules.
func TestServedRulesLinkOnlyWithinThemselvesOrToTheWeb(t *testing.T) {
	f, err := parseMarkdown("rules.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range f.links {
		if !strings.HasPrefix(l, "#") && !strings.HasPrefix(l, "https://") {
			t.Errorf("rules.md links to %q; at %s it would not resolve", l, RulesPath)
		}
	}
}

func TestRuleURL(t *testing.T) {
	if got := RuleURL("R4"); got != "/docs/rules#r4" {
		t.Fatalf("RuleURL(R4) = %q", got)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// The statuses that break no rule are the ones rules.md lists, each once.
func TestUnruledStatusesAreTheOnesRulesMDLists(t *testing.T) {
	for status, meaning := range Unruled {
		row := fmt.Sprintf("| %d | %s |", status, strings.ReplaceAll(meaning, "Retry-After", "`Retry-After`"))
		if bytes.Count(rulesMarkdown, []byte(row)) != 1 {
			t.Errorf("rules.md lacks the row %q", row)
		}
	}
	rows := regexp.MustCompile(`(?m)^  \| (\d{3}) \|`).FindAllSubmatch(rulesMarkdown, -1)
	if len(rows) != len(Unruled) {
		t.Errorf("rules.md lists %d statuses that break no rule, docs.Unruled %d", len(rows), len(Unruled))
	}
}
