package directory

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/internal/store"
)

// Slack names a customer's own Slack app, in its own workspace (TeamID),
// through which its approvers are asked (SPEC §14). Neither the bot token
// nor the signing secret is in the file: the *_env or *_file fields name
// where the worker (the token) and the server (both) read them.
type Slack struct {
	TeamID            string `yaml:"team_id"`
	BotTokenEnv       string `yaml:"bot_token_env"`
	BotTokenFile      string `yaml:"bot_token_file"`
	SigningSecretEnv  string `yaml:"signing_secret_env"`
	SigningSecretFile string `yaml:"signing_secret_file"`
}

// teamID is a Slack workspace's ID: T and capital letters or digits.
var teamID = regexp.MustCompile(`^T[A-Z0-9]{2,20}$`)

func (s *Slack) workspace(customerID string) *store.SlackWorkspace {
	return &store.SlackWorkspace{CustomerID: customerID, TeamID: strings.TrimSpace(s.TeamID), BotTokenEnv: s.BotTokenEnv,
		BotTokenFile: s.BotTokenFile, SigningSecretEnv: s.SigningSecretEnv, SigningSecretFile: s.SigningSecretFile}
}

// slack checks a customer's slack block on its own: the team's shape, a
// workspace given once in the file, one place to read each secret.
func (c *checker) slack(path string, s *Slack) {
	if s == nil {
		return
	}
	switch t := strings.TrimSpace(s.TeamID); {
	case t == "":
		c.bad(path+".team_id", "is required: the Slack workspace's ID (T followed by capital letters and digits, e.g. T0123ABCD), from the workspace's about page or the app's settings")
	case !teamID.MatchString(t):
		c.bad(path+".team_id", "%q is not a Slack workspace ID: T followed by capital letters and digits, e.g. T0123ABCD", s.TeamID)
	default:
		c.once(path+".team_id", "slack team "+t, fmt.Sprintf("the Slack workspace %q", t))
	}
	c.namedSecret(path, secretNames{what: "bot token", field: "bot_token", process: "worker and the server", itself: "token",
		example: "CONTOSO_SLACK_BOT_TOKEN"}, s.BotTokenEnv, s.BotTokenFile)
	c.namedSecret(path, secretNames{what: "signing secret", field: "signing_secret", process: "server", itself: "secret",
		example: "CONTOSO_SLACK_SIGNING_SECRET"}, s.SigningSecretEnv, s.SigningSecretFile)
}

// slackSecrets reads each slack block's secrets where it names them: a
// variable not set or a file not readable here is a problem before
// anything is written. The values are dropped at once.
func (f *File) slackSecrets(read func(env, file, what string) (string, error)) Problems {
	if read == nil {
		read = func(env, file, what string) (string, error) { return secret.ReadNamed(env, file, what, "this machine") }
	}
	c := &checker{f: f}
	for i, p := range f.Partners {
		for j, cu := range p.Customers {
			if cu.Slack == nil {
				continue
			}
			path := fmt.Sprintf("partners[%d].customers[%d].slack", i, j)
			for _, s := range []struct{ field, what, env, file string }{
				{"bot_token", "the bot token", cu.Slack.BotTokenEnv, cu.Slack.BotTokenFile},
				{"signing_secret", "the signing secret", cu.Slack.SigningSecretEnv, cu.Slack.SigningSecretFile},
			} {
				field := s.field + "_env"
				if s.env == "" {
					field = s.field + "_file"
				}
				if _, err := read(s.env, s.file, s.what); err != nil {
					c.bad(path+"."+field, "%v", err)
				}
			}
		}
	}
	return c.problems
}

// slackAgainst checks a customer's slack block against the store (a
// workspace is one customer's) and plans it: set, changed or removed.
func (c *checker) slackAgainst(ctx context.Context, st Reader, pl *plan, path string, s *Slack, customerID, partnerID string) error {
	old, err := st.SlackWorkspaceOf(ctx, customerID)
	had := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	var want *store.SlackWorkspace
	if s != nil {
		want = s.workspace(customerID)
		owner, err := st.SlackWorkspaceByTeam(ctx, want.TeamID)
		switch {
		case err == nil && owner.CustomerID != customerID:
			c.bad(path+".team_id", "Slack workspace %q is customer %q's: a workspace asks one customer's approvers; take it out of that customer's slack block and apply first", want.TeamID, owner.CustomerID)
			return nil
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return err
		}
	}
	switch {
	case want == nil && !had:
		return nil
	case want != nil && had && *want == old:
		pl.keep(kindSlack)
		return nil
	}
	pl.add(func(ctx context.Context, a *applier) error {
		action, detail := domain.ActionCustomerSlackRemoved, "approvers are no longer asked in Slack"
		if want != nil {
			action, detail = domain.ActionCustomerSlackSet, fmt.Sprintf("workspace %s, bot token from %s, signing secret from %s", want.TeamID,
				secretSource(store.Target{SecretEnv: want.BotTokenEnv, SecretFile: want.BotTokenFile}),
				secretSource(store.Target{SecretEnv: want.SigningSecretEnv, SecretFile: want.SigningSecretFile}))
		}
		if err := a.st.SetSlackWorkspace(ctx, customerID, want); err != nil {
			return err
		}
		if had {
			a.report.Slack.Updated++
		} else {
			a.report.Slack.Created++
		}
		return a.audit(ctx, action, partnerID, customerID, "", customerID+": "+detail)
	})
	return nil
}
