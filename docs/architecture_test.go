package docs

import (
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/partneraccess/partneraccess"

var (
	tableRow = regexp.MustCompile("(?m)^\\| `([^`]+)` \\| [^|]+ \\| ([^|]+) \\|$")
	quoted   = regexp.MustCompile("`([^`]+)`")
)

// TestArchitectureTableIsTheImports holds docs/architecture.md's package
// table to the code: every package is listed, with exactly the project
// packages it imports.
func TestArchitectureTableIsTheImports(t *testing.T) {
	md, err := os.ReadFile("architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]string{}
	for _, m := range tableRow.FindAllStringSubmatch(string(md), -1) {
		var imports []string
		for _, q := range quoted.FindAllStringSubmatch(m[2], -1) {
			imports = append(imports, q[1])
		}
		documented[m[1]] = strings.Join(imports, " ")
	}
	testOnly := map[string]bool{}
	if _, rest, ok := strings.Cut(string(md), "Test-only packages:"); ok {
		para, _, _ := strings.Cut(rest, "\n\n")
		for _, q := range quoted.FindAllStringSubmatch(para, -1) {
			testOnly[q[1]] = true
		}
	}
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var want []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := short(fields[0])
		var imports []string
		for _, imp := range fields[1:] {
			if imp == module || strings.HasPrefix(imp, module+"/") {
				imports = append(imports, short(imp))
			}
		}
		slices.Sort(imports)
		got := make([]string, len(imports))
		for i, imp := range imports {
			got[i] = "`" + imp + "`"
		}
		row := strings.Join(got, ", ")
		if row == "" {
			row = "—"
		}
		if testOnly[pkg] || testOnly[strings.SplitN(pkg, "/", 3)[0]] {
			continue
		}
		have, ok := documented[pkg]
		if !ok || have != strings.Join(imports, " ") {
			want = append(want, "| `"+pkg+"` | … | "+row+" |")
		}
		delete(documented, pkg)
	}
	for pkg := range documented {
		want = append(want, "| `"+pkg+"` is in the table but not in the code")
	}
	if len(want) > 0 {
		t.Fatalf("docs/architecture.md's package table is out of date; these rows should read:\n%s", strings.Join(want, "\n"))
	}
}

func short(pkg string) string {
	if pkg == module {
		return "main"
	}
	return strings.TrimPrefix(pkg, module+"/")
}

// TestTargetsImportNoTemporal holds the directory targets to their
// contract: they and what they share import internal/target, never the
// activities, so neither those nor the Temporal SDK are in their builds.
func TestTargetsImportNoTemporal(t *testing.T) {
	pkgs := []string{module + "/internal/entra", module + "/internal/ldapdir", module + "/internal/membership", module + "/internal/target"}
	out, err := exec.Command("go", append([]string{"list", "-deps"}, pkgs...)...).Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "go.temporal.io/") || dep == module+"/activities" {
			t.Errorf("the directory targets import %s", dep)
		}
	}
}
