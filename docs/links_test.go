package docs

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"unicode"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/text"
)

// checkLinks reads every Markdown file under root and reports each link
// that leaves root, names a file that does not exist, or names an anchor the
// target does not have. Links with a scheme (https:, mailto:) are left to
// their owners. A clone of the repository must read whole on its own.
func checkLinks(root string) error {
	root, err := filepath.Abs(root)
	if err != nil {
		return err
	}
	files := map[string]*mdFile{}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != root && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(strings.ToLower(d.Name()), ".md") {
			f, err := parseMarkdown(p)
			if err != nil {
				return err
			}
			files[p] = f
		}
		return nil
	})
	if err != nil {
		return err
	}
	var errs []error
	for p, f := range files {
		rel, _ := filepath.Rel(root, p)
		for _, link := range f.links {
			if problem := checkLink(root, p, link, files); problem != "" {
				errs = append(errs, fmt.Errorf("%s: link %q %s", filepath.ToSlash(rel), link, problem))
			}
		}
	}
	return errors.Join(errs...)
}

// checkLink says what is wrong with one link of the file at from, or "".
func checkLink(root, from, link string, files map[string]*mdFile) string {
	u, err := url.Parse(link)
	switch {
	case err != nil:
		return "is not a valid address"
	case u.Scheme != "" || u.Host != "":
		return "" // outside the repository by design: a web address
	case strings.HasPrefix(u.Path, "/"):
		return "is a path from the root of a web site, not a file of the repository"
	}
	target := from
	if u.Path != "" {
		target = filepath.Join(filepath.Dir(from), filepath.FromSlash(path.Clean(u.Path)))
		if rel, err := filepath.Rel(root, target); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return "points outside the repository"
		}
		if _, err := os.Stat(target); err != nil {
			return "names a file that does not exist"
		}
	}
	if u.Fragment == "" {
		return ""
	}
	f, ok := files[target]
	if !ok {
		return "" // an anchor in a file that is not Markdown: not checked
	}
	if !f.anchors[u.Fragment] {
		return "names an anchor that " + filepath.Base(target) + " does not have"
	}
	return ""
}

// mdFile is what the link check needs of one Markdown file.
type mdFile struct {
	links   []string
	anchors map[string]bool // heading slugs as Markdown viewers make them, and explicit ids
}

var (
	htmlLink   = regexp.MustCompile(`(?i)\b(?:href|src)\s*=\s*"([^"]*)"`)
	htmlAnchor = regexp.MustCompile(`(?i)\b(?:id|name)\s*=\s*"([^"]*)"`)
)

func parseMarkdown(p string) (*mdFile, error) {
	src, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	doc := goldmark.New(goldmark.WithExtensions(extension.GFM)).Parser().Parse(text.NewReader(src))
	f := &mdFile{anchors: map[string]bool{}}
	slugs := map[string]int{}
	raw := func(s string) {
		for _, m := range htmlLink.FindAllStringSubmatch(s, -1) {
			f.links = append(f.links, m[1])
		}
		for _, m := range htmlAnchor.FindAllStringSubmatch(s, -1) {
			f.anchors[m[1]] = true
		}
	}
	err = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Link:
			f.links = append(f.links, string(n.Destination))
		case *ast.Image:
			f.links = append(f.links, string(n.Destination))
		case *ast.Heading:
			s := slug(plainText(n, src))
			if k := slugs[s]; k > 0 {
				f.anchors[fmt.Sprintf("%s-%d", s, k)] = true
			} else {
				f.anchors[s] = true
			}
			slugs[s]++
		case *ast.RawHTML:
			for i := 0; i < n.Segments.Len(); i++ {
				seg := n.Segments.At(i)
				raw(string(seg.Value(src)))
			}
		case *ast.HTMLBlock:
			for i := 0; i < n.Lines().Len(); i++ {
				seg := n.Lines().At(i)
				raw(string(seg.Value(src)))
			}
		}
		return ast.WalkContinue, nil
	})
	return f, err
}

// plainText is the text of a node and its descendants.
func plainText(n ast.Node, src []byte) string {
	var b strings.Builder
	ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch c := c.(type) {
		case *ast.Text:
			b.Write(c.Segment.Value(src))
		case *ast.String:
			b.Write(c.Value)
		case *ast.CodeSpan:
			for t := c.FirstChild(); t != nil; t = t.NextSibling() {
				if t, ok := t.(*ast.Text); ok {
					b.Write(t.Segment.Value(src))
				}
			}
			return ast.WalkSkipChildren, nil
		}
		return ast.WalkContinue, nil
	})
	return b.String()
}

// slug is a heading's anchor as common Markdown viewers make it: lower
// case, letters, digits, "-" and "_" kept, spaces made "-", the rest dropped.
func slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}
