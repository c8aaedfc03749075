package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/partneraccess/partneraccess/internal/codec"
	"github.com/partneraccess/partneraccess/internal/config"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/wfclient"
	"github.com/partneraccess/partneraccess/workflows"
)

// Inspect prints what the engine knows of one assignment (its workflow's
// run ID): the status query's answer, a timeline, a summary of the history
// and the workflow's page in the Temporal UI. It reaches Temporal as the
// service does (TEMPORAL_ADDRESS, or the one-process service's embedded
// frontend) and decrypts with the service's keys.
func Inspect(ctx context.Context, cfg config.Config, assignmentID string, out io.Writer) error {
	if strings.TrimSpace(assignmentID) == "" || strings.HasPrefix(assignmentID, "-") {
		return errors.New("inspect: give an assignment ID: partneraccess inspect <assignment-id>")
	}
	if cfg.SecretKey == nil {
		if _, err := os.Stat(filepath.Join(cfg.DataDir, "secret.key")); err != nil {
			return fmt.Errorf("inspect: no key to read the workflow's encrypted payloads: set SECRET_KEY (and TEMPORAL_CODEC_KEYS) as the service has them, or DATA_DIR to the one-process service's data folder")
		}
		if err := cfg.LoadOrCreateSecretKey(); err != nil {
			return err
		}
	}
	cd, err := cfg.Codec()
	if err != nil {
		return fmt.Errorf("TEMPORAL_CODEC_KEYS: %w", err)
	}
	hostPort := cfg.TemporalAddress
	if hostPort == "" {
		hostPort = cfg.EmbeddedFrontend
	}
	opts := client.Options{HostPort: hostPort, Namespace: cfg.TemporalNamespace, Logger: sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))}
	if err := secureClient(&opts, cfg); err != nil {
		return err
	}
	codec.ClientOptions(&opts, cd)
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tc, err := client.DialContext(dctx, opts)
	if err != nil {
		return fmt.Errorf("inspect: connect to Temporal at %s (is the service running? TEMPORAL_ADDRESS names another cluster): %w", hostPort, err)
	}
	defer tc.Close()

	in := wfclient.NewInspector(tc, cfg.TemporalNamespace)
	ex, ok, err := in.Find(dctx, assignmentID)
	if err != nil {
		return fmt.Errorf("inspect: find the workflow of %s: %w", assignmentID, err)
	}
	if !ok {
		return fmt.Errorf("inspect: Temporal has no workflow run %s in namespace %s (a closed run is kept for TEMPORAL_RETENTION; the service's own record stays: GET /api/v1/assignments/%s)",
			assignmentID, cfg.TemporalNamespace, assignmentID)
	}
	wid := ex.WorkflowID

	fmt.Fprintf(out, "Assignment %s\n", assignmentID)
	fmt.Fprintf(out, "  workflow:  %s (%s), %s\n", wid, ex.Type, ex.Status)
	if st, err := in.Status(dctx, ex.Run); err != nil {
		fmt.Fprintf(out, "  status:    the status query did not answer (%v)\n", err)
	} else {
		writeStatus(out, st)
	}
	if total, events, err := in.History(dctx, ex.Run); err != nil {
		fmt.Fprintf(out, "  history:   cannot be read (%v)\n", err)
	} else {
		writeHistory(out, total, events)
	}
	if ui := inspectUIURL(cfg); ui != "" {
		fmt.Fprintf(out, "Temporal UI: %s/namespaces/%s/workflows/%s/%s/history%s\n", ui, url.PathEscape(cfg.TemporalNamespace),
			url.PathEscape(wid), url.PathEscape(assignmentID), uiAnswers(dctx, ui))
	}
	return nil
}

// uiAnswers is "" when the Temporal UI answers at ui, else a note saying
// where inspect looked: it has only its own settings to go by.
func uiAnswers(ctx context.Context, ui string) string {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, ui, nil)
	if err == nil {
		var res *http.Response
		if res, err = http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
			return ""
		}
	}
	return "\n  (nothing answers at " + ui + ": give inspect the service's TEMPORAL_UI_ADDR, or TEMPORAL_UI_URL)"
}

// writeStatus prints the status query's answer as a timeline.
func writeStatus(out io.Writer, st workflows.Status) {
	fmt.Fprintf(out, "  state:     %s\n", st.State)
	at := func(t *time.Time) string { return t.UTC().Format("Mon 2 Jan 2006 15:04:05 UTC") }
	fmt.Fprintln(out, "Timeline (the workflow's status query):")
	line := func(t time.Time, format string, args ...any) {
		fmt.Fprintf(out, "  %s  %s\n", at(&t), fmt.Sprintf(format, args...))
	}
	line(st.RequestedAt, "requested")
	if st.ApprovalDeadline != nil && st.DecidedAt == nil && st.State == domain.StatePendingApproval {
		line(*st.ApprovalDeadline, "approval deadline")
	}
	if st.DecidedAt != nil {
		line(*st.DecidedAt, "%s by %s", st.Decision, st.DecidedBy)
	}
	if st.ActivatedAt != nil {
		if st.AccessDuration > 0 {
			line(*st.ActivatedAt, "access began, for %s", domain.HumanDuration(st.AccessDuration))
		} else {
			line(*st.ActivatedAt, "access began, until someone unassigns it")
		}
	}
	for _, x := range st.Extensions {
		line(x.RequestedAt, "extension %d asked by %s: %s more (%s)", x.N, x.RequestedBy, domain.HumanDuration(x.Duration), x.State)
	}
	if st.AccessEndsAt != nil && st.EndedAt == nil {
		line(*st.AccessEndsAt, "access ends")
	}
	if st.EndedAt != nil {
		why, who := domain.HumanEndReason(st.EndReason), ""
		if st.EndedBy != "" && !strings.Contains(why, st.EndedBy) { // "unassigned by …" names them already
			who = " by " + st.EndedBy
		}
		line(*st.EndedAt, "ended%s: %s", who, why)
	}
	if st.Failure != "" {
		fmt.Fprintf(out, "  failure:   %s\n", st.Failure)
	}
	for _, e := range st.FailedEmails {
		fmt.Fprintf(out, "  email not delivered: %s\n", e)
	}
}

// writeHistory prints the signals the history holds, each with its time
// (what people sent the workflow), and how many of each kind of event it
// holds: the signals received, the activities run, the timers.
func writeHistory(out io.Writer, total int, events []wfclient.Event) {
	counts := map[string]int{}
	var signals []string
	for _, e := range events {
		name := e.Kind
		if e.Kind != wfclient.EventTimer {
			name += " " + e.Name
		}
		if e.Kind == wfclient.EventSignal {
			signals = append(signals, fmt.Sprintf("  %s  %s", e.At.UTC().Format("Mon 2 Jan 2006 15:04:05 UTC"), e.Name))
		}
		counts[name]++
	}
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s ×%d", n, counts[n])
	}
	if len(signals) > 0 {
		fmt.Fprintln(out, "Signals received (the workflow's history):")
		fmt.Fprintln(out, strings.Join(signals, "\n"))
	}
	fmt.Fprintf(out, "History: %d events; %s\n", total, strings.Join(parts, ", "))
}

// inspectUIURL is the Temporal UI the service links to: TEMPORAL_UI_URL,
// else the one-process service's embedded UI.
func inspectUIURL(cfg config.Config) string {
	if cfg.TemporalUIURL != "" {
		return cfg.TemporalUIURL
	}
	if cfg.TemporalAddress == "" && cfg.TemporalUIAddr != "" {
		return "http://" + cfg.TemporalUIAddr
	}
	return ""
}
