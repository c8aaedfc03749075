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
)

// Kind is the kind of an email (SPEC §5).
type Kind string

// The kinds of email.
const (
	KindApprovalRequest      Kind = "approval_request"
	KindApprovalReminder     Kind = "approval_reminder"
	KindApprovalConfirmation Kind = "approval_confirmation"
	KindAccessGranted        Kind = "access_granted"
	KindAccessDenied         Kind = "access_denied"
	KindApprovalExpired      Kind = "approval_expired"
	KindRequestWithdrawn     Kind = "request_withdrawn"
	KindAccessEnded          Kind = "access_ended"
	KindProfessionalNotice   Kind = "professional_notice"
	KindAVDInstructions      Kind = "avd_instructions"
	KindCredentialLink       Kind = "credential_link"
	KindReadyToLogIn         Kind = "ready"
	KindDeliveryFailed       Kind = "delivery_failed"
)

// Kinds lists every kind.
var Kinds = []Kind{KindApprovalRequest, KindApprovalReminder, KindApprovalConfirmation, KindAccessGranted,
	KindAccessDenied, KindApprovalExpired, KindRequestWithdrawn, KindAccessEnded, KindProfessionalNotice,
	KindAVDInstructions, KindCredentialLink, KindReadyToLogIn, KindDeliveryFailed}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool {
	for _, known := range Kinds {
		if k == known {
			return true
		}
	}
	return false
}

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

func parse() {
	fns := map[string]any{"when": when, "minutes": minutes}
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
