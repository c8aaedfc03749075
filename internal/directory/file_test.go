package directory

import (
	"strings"
	"testing"
)

const good = `partners:
  - id: northwind
    name: Northwind Partners
    administrators:
      - {email: admin@partner.example, name: Ada Admin}
    customers:
      - id: contoso
        name: Contoso
        permission: granted
        administrators:
          - {email: admin@contoso.example, name: Casey Contoso}
        sites:
          - {id: contoso-standard, name: Contoso Sage 200 Standard, edition: standard}
`

func TestParseGoodFile(t *testing.T) {
	f, err := Parse([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if ps := f.Check(); len(ps) > 0 {
		t.Fatal(ps)
	}
	c := f.Partners[0].Customers[0]
	if c.Sites[0].Edition != "standard" || c.Administrators[0].Email != "admin@contoso.example" || c.Permission.Value != "granted" {
		t.Fatalf("decoded %+v", f.Partners[0])
	}
}

// TestBadFiles names every message a file can get, with its place.
func TestBadFiles(t *testing.T) {
	cases := []struct {
		name, file string
		want       string // one problem, exactly
	}{
		{"empty", "", "the file is empty: it lists partners (see deploy/directory.example.yaml)"},
		{"syntax", "partners: [", "not valid YAML: line 1: did not find expected node content"},
		{"second document", "partners: []\n---\npartners: []\n", "(line 2): a second YAML document (---): the file holds one"},
		{"no partners", "partners: []\n", "partners (line 1): is required: the file lists at least one partner"},
		{"top level not a mapping", "- a\n", "(line 1): must be the file: a mapping with partners"},
		{"unknown top field", "partner:\n  - id: x\n", "partner (line 1): unknown field; the file has partners"},
		{"unknown nested field", "partners:\n  - id: n\n    name: N\n    colour: red\n",
			"partners[0].colour (line 4): unknown field; a partner has id, name, sso, review, webhooks, administrators, customers"},
		{"list expected", "partners:\n  - id: n\n    name: N\n    customers: contoso\n",
			"partners[0].customers (line 4): must be a list, each item a customer"},
		{"item not a mapping", "partners:\n  - northwind\n",
			"partners[0] (line 2): must be a partner: a mapping with id, name, sso, review, webhooks, administrators, customers"},
		{"scalar expected", "partners:\n  - id: [n]\n    name: N\n", "partners[0].id (line 2): must be a single value, not a list or a mapping"},
		{"alias", "partners:\n  - &p {id: n, name: N}\n  - *p\n", "partners[1] (line 3): anchors and aliases are not supported; write each entry out"},
		{"duplicate key", "partners:\n  - id: n\n    id: m\n    name: N\n", `not valid YAML: line 3: mapping key "id" already defined at line 2`},
		{"missing id", "partners:\n  - name: N\n", "partners[0].id (line 2): is required"},
		{"id not a slug", "partners:\n  - {id: North_Wind, name: N}\n",
			`partners[0].id (line 2): "North_Wind" is not an ID: lowercase letters a-z and digits, with single hyphens inside, at most 63 characters (e.g. contoso-standard)`},
		{"id too long", "partners:\n  - {id: " + strings.Repeat("a", 64) + ", name: N}\n", "partners[0].id (line 2): \"" + strings.Repeat("a", 64) + "\" is not an ID"},
		{"missing name", "partners:\n  - {id: n}\n", "partners[0].name (line 2): is required"},
		{"blank name", "partners:\n  - {id: n, name: '  '}\n", "partners[0].name (line 2): is required"},
		{"bidi in name", "partners:\n  - {id: n, name: \"North\\u202Ewind\"}\n",
			"partners[0].name (line 2): must be one line of plain text: U+202E (a control, format or separator character) is not allowed"},
		{"name too long", "partners:\n  - {id: n, name: " + strings.Repeat("x", 201) + "}\n", "partners[0].name (line 2): is too long: at most 200 characters"},
		{"duplicate partner", "partners:\n  - {id: n, name: N}\n  - {id: n, name: M}\n",
			`partners[1].id (line 3): the partner ID "n" is already given at partners[0].id (line 2); each appears once in the file`},
		{"duplicate site under two customers", "partners:\n  - id: n\n    name: N\n    customers:\n" +
			"      - {id: a, name: A, sites: [{id: s, name: S, edition: standard}]}\n" +
			"      - {id: b, name: B, sites: [{id: s, name: S, edition: standard}]}\n",
			`partners[0].customers[1].sites[0].id (line 6): the site ID "s" is already given at partners[0].customers[0].sites[0].id (line 5)`},
		{"bad email", "partners:\n  - id: n\n    name: N\n    administrators: [{email: Ada <ada@x.example>, name: Ada}]\n",
			`partners[0].administrators[0].email (line 4): "Ada <ada@x.example>" is not an email address: write it alone, like name@example.com`},
		{"missing email", "partners:\n  - id: n\n    name: N\n    administrators: [{name: Ada}]\n",
			"partners[0].administrators[0].email (line 4): is required"},
		{"duplicate email, other case", "partners:\n  - id: n\n    name: N\n    administrators:\n      - {email: ada@x.example, name: Ada}\n" +
			"    customers:\n      - id: c\n        name: C\n        administrators:\n          - {email: ADA@x.example, name: Ada}\n",
			`partners[0].customers[0].administrators[0].email (line 10): ADA@x.example is already given at partners[0].administrators[0].email (line 5)`},
		{"bad edition", "partners:\n  - id: n\n    name: N\n    customers:\n      - id: c\n        name: C\n        sites:\n          - id: s\n            name: S\n            edition: enterprise\n",
			`partners[0].customers[0].sites[0].edition (line 10): "enterprise" must be standard or professional`},
		{"missing edition", "partners:\n  - id: n\n    name: N\n    customers: [{id: c, name: C, sites: [{id: s, name: S}]}]\n",
			"partners[0].customers[0].sites[0].edition (line 4): is required: standard or professional"},
		{"withdrawn", "partners:\n  - id: n\n    name: N\n    customers:\n      - {id: c, name: C, permission: withdrawn}\n",
			"partners[0].customers[0].permission (line 5): cannot be withdrawn here: withdrawing ends the partner's open assignments, and the customer does it"},
		{"unknown permission", "partners:\n  - id: n\n    name: N\n    customers:\n      - {id: c, name: C, permission: yes}\n",
			`partners[0].customers[0].permission (line 5): "yes" must be granted, or left out to keep the permission as it is`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ps := problemsOf(t, tc.file)
			if len(ps) != 1 {
				t.Fatalf("want one problem %q, got %d:\n%v", tc.want, len(ps), ps)
			}
			if !strings.Contains(ps[0].String(), tc.want) {
				t.Fatalf("got  %q\nwant %q", ps[0].String(), tc.want)
			}
		})
	}
}

// problemsOf parses and checks a file, and returns its problems.
func problemsOf(t *testing.T, file string) Problems {
	t.Helper()
	f, err := Parse([]byte(file))
	if err != nil {
		ps, ok := err.(Problems)
		if !ok {
			t.Fatalf("Parse: %T %v, want Problems", err, err)
		}
		return ps
	}
	return f.Check()
}

func TestEveryProblemAtOnce(t *testing.T) {
	file := `partners:
  - id: Northwind
    name: ""
    administrators:
      - {email: not-an-email, name: Ada}
    customers:
      - id: contoso
        name: Contoso
        permission: withdrawn
        sites:
          - {id: s1, name: S1, edition: gold}
          - {id: s1, name: S1 again, edition: standard}
`
	ps := problemsOf(t, file)
	want := []string{
		`partners[0].id (line 2): "Northwind" is not an ID`,
		"partners[0].name (line 3): is required",
		`partners[0].administrators[0].email (line 5): "not-an-email" is not an email address`,
		"partners[0].customers[0].permission (line 9): cannot be withdrawn here",
		`partners[0].customers[0].sites[0].edition (line 11): "gold" must be standard or professional`,
		`partners[0].customers[0].sites[1].id (line 12): the site ID "s1" is already given at partners[0].customers[0].sites[0].id (line 11)`,
	}
	if len(ps) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(ps), len(want), ps)
	}
	for i, w := range want {
		if !strings.HasPrefix(ps[i].String(), w) {
			t.Errorf("problem %d: got %q, want it to start %q", i, ps[i].String(), w)
		}
	}
	if msg := ps.Error(); !strings.HasPrefix(msg, "6 problems, nothing changed:\n  partners[0].id (line 2)") {
		t.Errorf("Error() = %q", msg)
	}
}
