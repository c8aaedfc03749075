package directory_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/partneraccess/partneraccess/internal/directory"
	"github.com/partneraccess/partneraccess/internal/store"
)

func slackFile(contoso, fabrikam string) string {
	return `partners:
  - id: northwind
    name: Northwind Partners
    customers:
      - id: contoso
        name: Contoso
` + contoso + `
      - id: fabrikam
        name: Fabrikam
` + fabrikam + `
`
}

func TestSlackBlocksAreCheckedAndEveryProblemIsListed(t *testing.T) {
	f, err := directory.Parse([]byte(slackFile(`        slack:
          team_id: t0contoso
          bot_token_env: CONTOSO_SLACK_BOT
          bot_token_file: /run/secrets/contoso-bot
          signing_secret_file: relative/secret`, `        slack:
          team_id: T0FABRIKAM
          bot_token_env: lower-case`)))
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(f.Check())
	for _, want := range []string{
		`partners[0].customers[0].slack.team_id (line 8): "t0contoso" is not a Slack workspace ID`,
		"partners[0].customers[0].slack.bot_token_file (line 10): give bot_token_env or bot_token_file, not both",
		`partners[0].customers[0].slack.signing_secret_file (line 11): "relative/secret" must be an absolute path on the server`,
		`partners[0].customers[1].slack.bot_token_env (line 16): "lower-case" is not an environment variable's name`,
		"partners[0].customers[1].slack (line 14): names no signing secret: give signing_secret_env (a variable on the server) or signing_secret_file (a file on the server)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	// A workspace is given once in a file, and an unknown field is named.
	f, err = directory.Parse([]byte(slackFile("        slack: {team_id: T0SAME, bot_token_env: A, signing_secret_env: B}",
		"        slack: {team_id: T0SAME, bot_token_env: C, signing_secret_env: D}")))
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(f.Check()); !strings.Contains(got, `partners[0].customers[1].slack.team_id (line 10): the Slack workspace "T0SAME" is already given at partners[0].customers[0].slack.team_id`) {
		t.Errorf("a workspace given twice: %s", got)
	}
	if _, err := directory.Parse([]byte(slackFile("        slack: {team_id: T0X, bot_token: xoxb-1}", ""))); err == nil || !strings.Contains(err.Error(), "slack.bot_token (line 7): unknown field; a slack block has team_id, bot_token_env") {
		t.Errorf("the token itself in the file: %v", err)
	}
}

// Apply reads each secret where the block names it (never storing it),
// then sets, keeps, changes and removes the workspace, audited; a
// workspace is one customer's.
func TestSlackApplySetsChangesAndRemovesTheWorkspace(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "contoso-signing")
	if err := os.WriteFile(secretFile, []byte("the-signing-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_DIR_SLACK_BOT", "xoxb-the-bot-token")
	block := func(team, tokenEnv string) string {
		return fmt.Sprintf("        slack: {team_id: %s, bot_token_env: %s, signing_secret_file: %s}", team, tokenEnv, secretFile)
	}
	eachStore(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		_, err := apply(t, st, slackFile(block("T0CONTOSO", "TEST_DIR_SLACK_UNSET"), ""), directory.Options{})
		var ps directory.Problems
		if !errors.As(err, &ps) || !strings.Contains(err.Error(), "partners[0].customers[0].slack.bot_token_env (line 7): the bot token variable TEST_DIR_SLACK_UNSET is not set on this machine") {
			t.Fatalf("a variable not set: %v", err)
		}
		if _, err := st.CustomerByID(ctx, "contoso"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a refused file wrote the customer: %v", err)
		}
		missing := strings.Replace(block("T0CONTOSO", "TEST_DIR_SLACK_BOT"), secretFile, secretFile+".missing", 1)
		if _, err := apply(t, st, slackFile(missing, ""), directory.Options{}); err == nil || !strings.Contains(err.Error(), "slack.signing_secret_file (line 7): the signing secret file "+secretFile+".missing cannot be read") {
			t.Fatalf("a file not readable: %v", err)
		}

		r, err := apply(t, st, slackFile(block("T0CONTOSO", "TEST_DIR_SLACK_BOT"), ""), directory.Options{})
		if err != nil || r.Slack != (directory.Count{Created: 1}) {
			t.Fatalf("apply: %+v %v", r.Slack, err)
		}
		w, err := st.SlackWorkspaceOf(ctx, "contoso")
		if err != nil || w != (store.SlackWorkspace{CustomerID: "contoso", TeamID: "T0CONTOSO", BotTokenEnv: "TEST_DIR_SLACK_BOT", SigningSecretFile: secretFile}) {
			t.Fatalf("workspace %+v %v", w, err)
		}
		if r, err = apply(t, st, slackFile(block("T0CONTOSO", "TEST_DIR_SLACK_BOT"), ""), directory.Options{}); err != nil || r.Slack != (directory.Count{Unchanged: 1}) {
			t.Fatalf("again: %+v %v", r.Slack, err)
		}
		// Fabrikam cannot take Contoso's workspace.
		if _, err := apply(t, st, slackFile("", block("T0CONTOSO", "TEST_DIR_SLACK_BOT")), directory.Options{}); err == nil ||
			!strings.Contains(err.Error(), `partners[0].customers[1].slack.team_id (line 10): Slack workspace "T0CONTOSO" is customer "contoso"'s`) {
			t.Fatalf("a workspace of another customer: %v", err)
		}
		if r, err = apply(t, st, slackFile(block("T0CONTOSO2", "TEST_DIR_SLACK_BOT"), ""), directory.Options{}); err != nil || r.Slack != (directory.Count{Updated: 1}) {
			t.Fatalf("changed: %+v %v", r.Slack, err)
		}
		if r, err = apply(t, st, slackFile("", ""), directory.Options{}); err != nil || r.Slack != (directory.Count{Updated: 1}) {
			t.Fatalf("removed: %+v %v", r.Slack, err)
		}
		if _, err := st.SlackWorkspaceOf(ctx, "contoso"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the removed workspace is still there: %v", err)
		}
		audit, _ := st.AuditLog(ctx, store.AuditFilter{Limit: 100})
		var set, removed int
		for _, e := range audit {
			if strings.Contains(e.Detail, "xoxb-the-bot-token") || strings.Contains(e.Detail, "the-signing-secret") {
				t.Errorf("a secret in the audit log: %q", e.Detail)
			}
			switch e.Action {
			case "customer.slack_set":
				set++
				if !strings.Contains(e.Detail, "bot token from $TEST_DIR_SLACK_BOT") || !strings.Contains(e.Detail, "signing secret from "+secretFile) {
					t.Errorf("audit detail %q does not say where the secrets are read", e.Detail)
				}
			case "customer.slack_removed":
				removed++
			}
		}
		if set != 2 || removed != 1 {
			t.Fatalf("audited %d sets, %d removals", set, removed)
		}
	})
}
