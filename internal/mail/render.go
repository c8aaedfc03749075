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

	"github.com/partneraccess/partneraccess/internal/domain"
)

// Kind is the kind of an email (SPEC §5); the kinds are named in package
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
	// ForRequester: the reader assigned the partner user and is someone
	// else, so partner-side emails speak of the partner user, not "you".
	ForRequester bool

	// The user lifecycle (invitation, password reset): no assignment.
	OrganizationName string
	InvitedBy        string
	Roles            string
	RecipientEmail   string
	LinkURL          string    // the one-time link
	LinkExpiresAt    time.Time // when it stops working
	LinkValidFor     time.Duration
	LoginURL         string
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

func minutes(d time.Duration) string {
	if d >= time.Minute {
		return fmt.Sprintf("%d minutes", int(d.Minutes()))
	}
	return fmt.Sprintf("%d seconds", int(d.Seconds()))
}

// Human is a duration as a person says it: "7 days", "1 hour", "30 minutes".
func Human(d time.Duration) string {
	unit := func(n int, one string) string {
		if n == 1 {
			return "1 " + one
		}
		return fmt.Sprintf("%d %ss", n, one)
	}
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0, d >= 72*time.Hour:
		return unit(int(d.Round(24*time.Hour)/(24*time.Hour)), "day")
	case d >= time.Hour && d%time.Hour == 0, d >= 3*time.Hour:
		return unit(int(d.Round(time.Hour)/time.Hour), "hour")
	case d >= time.Minute:
		return unit(int(d.Round(time.Minute)/time.Minute), "minute")
	}
	return unit(int(d.Round(time.Second)/time.Second), "second")
}

func parse() {
	fns := map[string]any{"when": when, "minutes": minutes, "human": Human}
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
