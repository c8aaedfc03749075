// Package directory brings partners, customers, sites and their first
// administrators into the store from a YAML file, without demo data
// (`partneraccess directory apply -f directory.yaml`). Applying a file is
// idempotent: what is missing is created, names that changed are updated,
// the rest is left as it is. A file is checked whole, against itself and
// the store, before anything is written; every problem is reported at once,
// each with where it is.
package directory

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/partneraccess/partneraccess/internal/policy"
)

// File is a directory file: the partners, each with its administrators and
// customers, each customer with its administrators and sites.
type File struct {
	Partners []Partner `yaml:"partners"`

	lines map[string]int // line of each path, e.g. "partners[0].customers[1].name"
}

// Partner is a business partner.
type Partner struct {
	ID             string     `yaml:"id"`
	Name           string     `yaml:"name"`
	SSO            *SSO       `yaml:"sso"`
	Review         *Review    `yaml:"review"`
	Webhooks       []Webhook  `yaml:"webhooks"`
	Administrators []Person   `yaml:"administrators"`
	Customers      []Customer `yaml:"customers"`
}

// Customer is a customer under its partner's account. Permission is
// "granted", {granted_until: …} for one that ends, or empty to leave the
// permission as it is (not granted for a new customer).
type Customer struct {
	ID         string     `yaml:"id"`
	Name       string     `yaml:"name"`
	Permission Permission `yaml:"permission"`
	Entra      *Entra     `yaml:"entra"`
	LDAP       *LDAP      `yaml:"ldap"`
	SSO        *SSO       `yaml:"sso"`
	Slack      *Slack     `yaml:"slack"`
	Teams      *Teams     `yaml:"teams"`
	Review     *Review    `yaml:"review"`
	// Webhooks are the customer's (SPEC §15); the partner's are its own.
	Webhooks []Webhook `yaml:"webhooks"`
	// Policy is the customer's own policy (R10) for all its sites; nil
	// leaves the stored one as it is (its administrators may set it too).
	Policy         *policy.Written `yaml:"policy"`
	Administrators []Person        `yaml:"administrators"`
	Sites          []Site          `yaml:"sites"`
}

// Entra names the customer's Microsoft Entra ID tenant, where its sites'
// access is enforced, and the app registration the customer consented to.
// The client secret is never in the file: ClientSecretEnv or
// ClientSecretFile names where the worker reads it.
type Entra struct {
	TenantID         string `yaml:"tenant_id"`
	ClientID         string `yaml:"client_id"`
	ClientSecretEnv  string `yaml:"client_secret_env"`
	ClientSecretFile string `yaml:"client_secret_file"`
	// UserDomain is the UPN suffix of the partner accounts made there.
	UserDomain string `yaml:"user_domain"`
	// AVD names the customer's Azure Virtual Desktop host pools, whose
	// sessions of the partner accounts are warned and logged off (SPEC §16).
	AVD *AVD `yaml:"avd"`
}

// AVD is where the customer's Azure Virtual Desktop host pools are: the same
// app registration holds Desktop Virtualization User Session Operator on
// them.
type AVD struct {
	SubscriptionID string   `yaml:"subscription_id"`
	ResourceGroup  string   `yaml:"resource_group"`
	HostPools      []string `yaml:"host_pools"`
}

// Site is a customer's Sage 200 site. AccessGroup is the object ID of its
// group in the customer's Entra tenant (required with entra, refused
// without).
type Site struct {
	ID          string `yaml:"id"`
	Name        string `yaml:"name"`
	Edition     string `yaml:"edition"`
	AccessGroup string `yaml:"access_group"`
	// Policy overrides the customer's field by field; nil leaves the
	// stored one as it is.
	Policy *policy.Written `yaml:"policy"`
}

// Person is an administrator of a partner or a customer.
type Person struct {
	Email string `yaml:"email"`
	Name  string `yaml:"name"`
}

// Problem is one thing wrong with a file, and where.
type Problem struct {
	Path string // e.g. partners[0].customers[1].sites[0].edition; "" for the whole file
	Line int    // 0 when unknown
	Text string
}

func (p Problem) String() string {
	where := p.Path
	if p.Line > 0 {
		where = strings.TrimSpace(fmt.Sprintf("%s (line %d)", p.Path, p.Line))
	}
	if where == "" {
		return p.Text
	}
	return where + ": " + p.Text
}

// Problems is every problem found in a file; nothing was written.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = "  " + p.String()
	}
	what := "problems"
	if len(ps) == 1 {
		what = "problem"
	}
	return fmt.Sprintf("%d %s, nothing changed:\n%s", len(ps), what, strings.Join(lines, "\n"))
}

// shape is what a YAML mapping of the file may hold.
type shape struct {
	what   string            // for messages: "a partner"
	fields []string          // in the order the documentation gives
	lists  map[string]*shape // fields that are lists of mappings
	maps   map[string]*shape // fields that are one mapping
	values []string          // fields that are lists of single values
	either map[string]*shape // fields that are a single value or one mapping
}

var (
	personShape = &shape{what: "an administrator", fields: []string{"email", "name"}}
	ruleShape   = &shape{what: "an auto_approve rule", fields: policy.RuleFields, values: []string{"users", "roles"}}
	policyShape = &shape{what: "a policy block", fields: policy.Fields, values: []string{"approver_roles"},
		lists: map[string]*shape{"auto_approve": ruleShape}}
	siteShape = &shape{what: "a site", fields: []string{"id", "name", "edition", "access_group", "policy"},
		maps: map[string]*shape{"policy": policyShape}}
	avdShape   = &shape{what: "an avd block", fields: []string{"subscription_id", "resource_group", "host_pools"}, values: []string{"host_pools"}}
	entraShape = &shape{what: "an entra block", fields: []string{"tenant_id", "client_id", "client_secret_env", "client_secret_file", "user_domain", "avd"},
		maps: map[string]*shape{"avd": avdShape}}

	ssoShape = &shape{what: "an sso block", fields: []string{"issuer", "client_id", "client_secret_env", "client_secret_file", "local_passwords", "domains"},
		values: []string{"domains"}}

	ldapShape = &shape{what: "an ldap block", fields: []string{"url", "start_tls", "insecure", "ca_file", "bind_dn", "bind_password_env", "bind_password_file", "users_dn"}}

	slackShape   = &shape{what: "a slack block", fields: []string{"team_id", "bot_token_env", "bot_token_file", "signing_secret_env", "signing_secret_file"}}
	webhookShape = &shape{what: "a webhook", fields: []string{"url", "secret_env", "secret_file", "events"}, values: []string{"events"}}

	customerShape = &shape{what: "a customer", fields: []string{"id", "name", "permission", "entra", "ldap", "sso", "teams", "slack", "review", "webhooks", "policy", "administrators", "sites"},
		lists:  map[string]*shape{"administrators": personShape, "sites": siteShape, "webhooks": webhookShape},
		maps:   map[string]*shape{"entra": entraShape, "ldap": ldapShape, "sso": ssoShape, "teams": teamsShape, "slack": slackShape, "policy": policyShape, "review": reviewShape},
		either: map[string]*shape{"permission": permissionShape}}
	partnerShape = &shape{what: "a partner", fields: []string{"id", "name", "sso", "review", "webhooks", "administrators", "customers"},
		lists: map[string]*shape{"administrators": personShape, "customers": customerShape, "webhooks": webhookShape},
		maps:  map[string]*shape{"sso": ssoShape, "review": reviewShape}}
	fileShape = &shape{what: "the file", fields: []string{"partners"}, lists: map[string]*shape{"partners": partnerShape}}
)

// Parse reads a directory file strictly: a field it does not know, a value
// of the wrong kind, an anchor or a second document is a problem. It
// returns Problems, or a YAML syntax error with its line.
// MaxFileSize bounds a directory file: thousands of customers fit in it.
const MaxFileSize = 4 << 20

func Parse(data []byte) (*File, error) {
	if len(data) > MaxFileSize {
		return nil, Problems{{Text: fmt.Sprintf("the file is larger than %d MiB", MaxFileSize>>20)}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, Problems{{Text: "the file is empty: it lists partners (see deploy/directory.example.yaml)"}}
		}
		return nil, Problems{{Text: "not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	var more yaml.Node
	if err := dec.Decode(&more); err == nil {
		return nil, Problems{{Line: more.Line, Text: "a second YAML document (---): the file holds one"}}
	}
	f := &File{lines: map[string]int{}}
	w := walker{lines: f.lines}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	w.mapping(root, "", fileShape)
	if len(w.problems) > 0 {
		return nil, w.problems
	}
	if err := root.Decode(f); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, Problems{{Text: "not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}}
		}
		var ps Problems
		for _, e := range te.Errors {
			ps = append(ps, Problem{Text: "not valid YAML: " + e})
		}
		return nil, ps
	}
	return f, nil
}

// walker checks the file's structure against the shapes and records the
// line of every path.
type walker struct {
	lines    map[string]int
	problems Problems
}

func (w *walker) bad(path string, line int, format string, args ...any) {
	w.problems = append(w.problems, Problem{Path: path, Line: line, Text: fmt.Sprintf(format, args...)})
}

func (w *walker) mapping(n *yaml.Node, path string, sh *shape) {
	if n.Kind == yaml.AliasNode {
		w.bad(path, n.Line, "anchors and aliases are not supported; write each entry out")
		return
	}
	if n.Kind != yaml.MappingNode {
		w.bad(path, n.Line, "must be %s: a mapping with %s", sh.what, strings.Join(sh.fields, ", "))
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		p := k.Value
		if path != "" {
			p = path + "." + k.Value
		}
		w.lines[p] = k.Line
		switch item, sub := sh.lists[k.Value], sh.maps[k.Value]; {
		case !slices.Contains(sh.fields, k.Value):
			w.bad(p, k.Line, "unknown field; %s has %s", sh.what, strings.Join(sh.fields, ", "))
		case v.Kind == yaml.AliasNode || k.Kind == yaml.AliasNode:
			w.bad(p, v.Line, "anchors and aliases are not supported; write each entry out")
		case sh.either[k.Value] != nil && v.Kind == yaml.MappingNode:
			w.mapping(v, p, sh.either[k.Value])
		case sub != nil && v.Kind == yaml.ScalarNode && v.Tag == "!!null":
		case sub != nil:
			w.mapping(v, p, sub)
		case item != nil && v.Kind == yaml.ScalarNode && v.Tag == "!!null":
		case item != nil && v.Kind != yaml.SequenceNode:
			w.bad(p, v.Line, "must be a list, each item %s", item.what)
		case item != nil:
			for j, e := range v.Content {
				ep := fmt.Sprintf("%s[%d]", p, j)
				w.lines[ep] = e.Line
				w.mapping(e, ep, item)
			}
		case slices.Contains(sh.values, k.Value) && v.Kind == yaml.ScalarNode && v.Tag == "!!null":
		case slices.Contains(sh.values, k.Value) && v.Kind != yaml.SequenceNode:
			w.bad(p, v.Line, "must be a list of single values, e.g. [contoso.com, contoso.co.uk]")
		case slices.Contains(sh.values, k.Value):
			for j, e := range v.Content {
				ep := fmt.Sprintf("%s[%d]", p, j)
				w.lines[ep] = e.Line
				if e.Kind != yaml.ScalarNode {
					w.bad(ep, e.Line, "must be a single value, not a list, a mapping or an alias")
				}
			}
		case v.Kind != yaml.ScalarNode:
			w.bad(p, v.Line, "must be a single value, not a list or a mapping")
		}
	}
}

// line is where path is in the file, or where the nearest enclosing entry
// is (a missing field is reported on its entry's line).
func (f *File) line(path string) int {
	for path != "" {
		if l, ok := f.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}
