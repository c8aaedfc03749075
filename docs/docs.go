// Package docs is the project's documentation. The service embeds the rules
// from here and serves them, so that every refusal it answers can link to
// the text of its rule.
package docs

import (
	"bytes"
	_ "embed"
	"regexp"
	"strings"
	"sync"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
)

//go:embed rules.md
var rulesMarkdown []byte

// RulesPath is where the service serves the rules.
const RulesPath = "/docs/rules"

// RuleURL is the address of a rule's definition, e.g. "R4" →
// "/docs/rules#r4". It is relative to the service's root, like the other
// links the service gives about itself (Location, instance), so it holds
// behind any proxy.
func RuleURL(rule string) string {
	return RulesPath + "#" + strings.ToLower(rule)
}

// Unruled are the statuses of the refusals and failures that break no
// rule: their problem type is about:blank and they carry no rule. rules.md
// ("How a refusal looks") lists each with what it means; every other
// refusal names its rule.
var Unruled = map[int]string{
	400: "the request is malformed: bad JSON, an unknown field, a value of the wrong kind",
	401: "no login, or the session ended",
	403: "a cross-site form post, or a page for administrators or operators only",
	404: "no such thing, or one the caller may not see",
	405: "the path does not take that method",
	409: "the thing is not in a state that allows it: the assignment already ended, the email already has an account, the user already registered (or not yet), the last administrator would go",
	410: "a one-time link was used, replaced, withdrawn or expired",
	413: "the body is too large",
	415: "the body is not JSON (or not a form, for pages)",
	421: "the request names a host that is neither PUBLIC_URL's nor a loopback name",
	422: "a value breaks a policy of no rule: a weak password, a duration out of range",
	429: "too many attempts: wait for Retry-After",
	500: "something failed on the service's side; nothing was changed",
	502: "the email provider refused an email the request needed: what was done stays, the detail says how to send it again",
	503: "Temporal or the store did not answer; nothing was changed, and repeating is safe",
}

// RulesHTML is the rules rendered as an HTML fragment, where the heading of
// rule Rn has the id "rn". Raw HTML in the Markdown (the anchors that other
// Markdown viewers need) is left out, and so are the maintainers' notes of
// where each rule lives in the code.
var RulesHTML = sync.OnceValues(func() ([]byte, error) {
	md := goldmark.New(
		goldmark.WithExtensions(extension.Table),
		goldmark.WithParserOptions(parser.WithAutoHeadingID()),
	)
	var out bytes.Buffer
	ctx := parser.NewContext(parser.WithIDs(&ruleIDs{next: parser.NewContext().IDs()}))
	doc := md.Parser().Parse(text.NewReader(rulesMarkdown), parser.WithContext(ctx))
	dropMaintainerNotes(doc, rulesMarkdown)
	if err := md.Renderer().Render(&out, rulesMarkdown, doc); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
})

// maintainerNote starts a paragraph of rules.md meant for maintainers:
// where a rule lives in the code. The served page leaves it out.
const maintainerNote = "Where it lives."

// dropMaintainerNotes removes the paragraphs that open with a bold
// maintainerNote.
func dropMaintainerNotes(doc ast.Node, source []byte) {
	var notes []ast.Node
	ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering || n.Kind() != ast.KindParagraph {
			return ast.WalkContinue, nil
		}
		if e, ok := n.FirstChild().(*ast.Emphasis); ok && e.Level == 2 && string(e.Text(source)) == maintainerNote {
			notes = append(notes, n)
		}
		return ast.WalkSkipChildren, nil
	})
	for _, n := range notes {
		n.Parent().RemoveChild(n.Parent(), n)
	}
}

var ruleHeading = regexp.MustCompile(`^R([1-9][0-9]?)\b`)

// ruleIDs gives a rule's heading ("R4 · …") the stable id "r4"; other
// headings get goldmark's usual ids.
type ruleIDs struct{ next parser.IDs }

func (r *ruleIDs) Generate(value []byte, kind ast.NodeKind) []byte {
	if m := ruleHeading.FindSubmatch(bytes.TrimSpace(value)); m != nil && kind == ast.KindHeading {
		id := append([]byte("r"), m[1]...)
		r.next.Put(id)
		return id
	}
	return r.next.Generate(value, kind)
}

func (r *ruleIDs) Put(value []byte) { r.next.Put(value) }
