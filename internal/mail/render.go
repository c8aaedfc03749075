package mail

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/partneraccess/partneraccess/internal/domain"
)

// Kind is the kind of an email (docs/workflow.md); the kinds are named in package
// domain, so the workflow can name them without importing this package.
type Kind = domain.EmailKind

// Data fills the templates.
type Data struct {
	RecipientName    string
	PartnerName      string
	PartnerUserName  string
	PartnerUserEmail string
	CustomerName     string
	SiteName         string
	Edition          string // "Standard" or "Professional"
	Role             string
	Reason           string // in every email (R9)
	AssignmentURL    string
	ApprovalURL      string
	CredentialURL    string
	AVDDownloadURL   string
	Decision         string // "approved" or "denied"
	DecidedBy        string
	AccessEndsAt     time.Time // zero: no end (Professional)
	ApprovalDeadline time.Time
	EndedBy          string
	EndReason        string
	ReadyAfter       time.Duration
	FailedRecipient  string
	FailureReason    string
	// An extension request: how much more time, why, who asked, and the
	// end of access before it (AccessEndsAt is the end after, once granted).
	ExtensionDuration    time.Duration
	ExtensionReason      string
	ExtensionRequestedBy string
	PreviousEndsAt       time.Time
	// Remaining is how long access had left when the email was written
	// (expiry warning); ActiveFor how long it had lasted (Professional reminder).
	Remaining time.Duration
	ActiveFor time.Duration
	// Approvals is a request's progress when it needs several ("1 of 2
	// approvals: Casey Contoso"); StartsAt when scheduled access starts.
	Approvals string
	StartsAt  time.Time
	// ForRequester: the reader assigned the partner user and is someone
	// else, so partner-side emails speak of the partner user, not "you".
	ForRequester bool
	// ReaderDecided: the reader made the decision this email reports, so it
	// says "you approved", not the reader's own address.
	ReaderDecided bool

	// The user lifecycle (invitation, password reset): no assignment.
	OrganizationName string
	InvitedBy        string
	Roles            string
	RecipientEmail   string
	LinkURL          string    // the one-time link
	LinkExpiresAt    time.Time // when it stops working
	LinkValidFor     time.Duration
	LoginURL         string

	// An access review or a permission's end (SPEC §15): LinkURL is its
	// page, LinkExpiresAt its deadline or end; Pending counts the items
	// nobody decided yet, Removed says what a review removed and EndReason why.
	Pending int
	Removed string
	// A webhook paused after failing for LinkValidFor (SPEC §15).
	WebhookURL string
}

// Rendered is an email's subject and bodies.
type Rendered struct {
	Subject, Text, HTML string
}

//go:embed templates/*.tmpl
var templateFS embed.FS

var (
	parseOnce sync.Once
	textT     *texttemplate.Template
	htmlT     *htmltemplate.Template
)

func when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("Mon 2 Jan 2006 15:04 UTC")
}

// capital starts a sentence with a name that may begin in lower case
// ("the Partner Access operator").
func capital(s string) string {
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

func parse() {
	fns := map[string]any{"when": when, "duration": domain.HumanDuration, "human": domain.HumanDuration, "capital": capital}
	textT = texttemplate.Must(texttemplate.New("text").Funcs(fns).ParseFS(templateFS, "templates/text.tmpl"))
	htmlT = htmltemplate.Must(htmltemplate.New("html").Funcs(fns).ParseFS(templateFS, "templates/html.tmpl"))
}

// Render returns the subject and the text and HTML bodies of an email.
func Render(kind Kind, d Data) (Rendered, error) {
	if !kind.Valid() {
		return Rendered{}, fmt.Errorf("unknown email kind %q", kind)
	}
	parseOnce.Do(parse)
	var subj, text, html bytes.Buffer
	if err := textT.ExecuteTemplate(&subj, string(kind)+".subject", d); err != nil {
		return Rendered{}, err
	}
	if err := textT.ExecuteTemplate(&text, string(kind)+".text", d); err != nil {
		return Rendered{}, err
	}
	if err := htmlT.ExecuteTemplate(&html, string(kind)+".html", d); err != nil {
		return Rendered{}, err
	}
	return Rendered{Subject: strings.Join(strings.Fields(subj.String()), " "), Text: strings.TrimSpace(text.String()) + "\n", HTML: html.String()}, nil
}
