// Package slackchat asks a customer's approvers in Slack (SPEC §14): each
// customer that opts in has its own Slack app in its own workspace
// (store.SlackWorkspace). Channel is the chat.Channel that sends each
// approver a direct message with Approve and Deny buttons and redraws it
// as the request moves on; Interactions answers the app's interactivity
// URL, where a click is proven by Slack's request signature and decided
// through the same chat.Decider as a Teams click.
package slackchat

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/internal/store"
)

// DefaultAPIURL is Slack's Web API (SLACK_API_URL).
const DefaultAPIURL = "https://slack.com/api/"

// Store is what this package reads and records (*store.Store is one).
type Store interface {
	SlackWorkspaceOf(ctx context.Context, customerID string) (store.SlackWorkspace, error)
	SlackWorkspaceByTeam(ctx context.Context, teamID string) (store.SlackWorkspace, error)
	SlackMessageOf(ctx context.Context, assignmentID string, extension int, approverID string) (store.SlackMessage, error)
	SlackMessages(ctx context.Context, assignmentID string, extension int) ([]store.SlackMessage, error)
	PutSlackMessage(ctx context.Context, m store.SlackMessage) error
	ClaimSlackClick(ctx context.Context, signatureHash, assignmentID, approverID string, now, forgetBefore time.Time) (bool, string, error)
	AnswerSlackClick(ctx context.Context, signatureHash, answer string) error
}

// Config is how this package reaches Slack.
type Config struct {
	// APIURL is the Web API's base (SLACK_API_URL; empty: DefaultAPIURL).
	APIURL     string
	HTTPClient *http.Client // nil: one with a 10 s timeout
	// Process names who reads the secrets, for their errors ("worker",
	// "server").
	Process string
	// Secret reads a secret named by a variable or a file (nil:
	// secret.ReadNamed). what names it in errors.
	Secret func(env, file, what string) (string, error)
	Now    func() time.Time
}

func (c Config) withDefaults() Config {
	if c.APIURL == "" {
		c.APIURL = DefaultAPIURL
	}
	if !strings.HasSuffix(c.APIURL, "/") {
		c.APIURL += "/"
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if c.Process == "" {
		c.Process = "this process"
	}
	if c.Secret == nil {
		process := c.Process
		c.Secret = func(env, file, what string) (string, error) { return secret.ReadNamed(env, file, what, process) }
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// botToken reads the workspace's bot token, at use: it is never kept.
func (c Config) botToken(w store.SlackWorkspace) (string, error) {
	return c.Secret(w.BotTokenEnv, w.BotTokenFile, "the Slack bot token of customer "+w.CustomerID)
}

// signingSecret reads the workspace's signing secret, at use.
func (c Config) signingSecret(w store.SlackWorkspace) (string, error) {
	return c.Secret(w.SigningSecretEnv, w.SigningSecretFile, "the Slack signing secret of customer "+w.CustomerID)
}

// client is the Web API client of one workspace's bot, whose errors never
// carry the token.
func (c Config) client(token string) *api {
	return &api{Client: slack.New(token, slack.OptionAPIURL(c.APIURL), slack.OptionHTTPClient(c.HTTPClient)), token: token}
}

type api struct {
	*slack.Client
	token string
}

// scrub is err with the token cut out of its text, should a library or a
// proxy ever echo it.
func (a *api) scrub(err error) error {
	if err == nil || a.token == "" || !strings.Contains(err.Error(), a.token) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), a.token, "[token]"))
}
