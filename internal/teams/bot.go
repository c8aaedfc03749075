// Package teams is the Microsoft Teams channel (SPEC §14): one Azure Bot
// for the service, installed in each customer's tenant. It binds each
// approver's 1:1 conversation with the bot, sends them a proactive Adaptive
// Card per request (chat.Channel), and takes their Approve and Deny on the
// messages endpoint, where every activity's Bot Framework JWT is verified
// and every click is checked against the approver the card was sent to.
package teams

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/partneraccess/partneraccess/internal/chat"
	"github.com/partneraccess/partneraccess/internal/store"
)

// Config is the bot's registration and the endpoints it talks to.
type Config struct {
	AppID     string // TEAMS_APP_ID: the Azure Bot's Microsoft App ID
	AppSecret string // TEAMS_APP_SECRET (or its file): never logged, never stored
	// OpenIDURL is BOTFRAMEWORK_OPENID_URL (default DefaultOpenIDURL);
	// LoginURL is ENTRA_LOGIN_URL, whose botframework.com tenant issues the
	// bot's own tokens (default https://login.microsoftonline.com).
	OpenIDURL, LoginURL string
	HTTPClient          *http.Client // nil: http.DefaultClient
}

// Bot is the Teams channel.
type Bot struct {
	cfg    Config
	store  *store.Store
	log    *slog.Logger
	verify *verifier
	tokens oauth2.TokenSource
	// Decider applies a click (the service); Refused audits a request that
	// did not prove itself, sampled as anonymous refusals are. The server
	// sets both; a worker's bot only delivers and refreshes.
	Decider chat.Decider
	Refused func(ctx context.Context, detail string)
}

var _ chat.Channel = (*Bot)(nil)

// New is the bot, or nil when no app ID is set (Teams is off).
func New(cfg Config, st *store.Store, log *slog.Logger) *Bot {
	if cfg.AppID == "" {
		return nil
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	if cfg.OpenIDURL == "" {
		cfg.OpenIDURL = DefaultOpenIDURL
	}
	if cfg.LoginURL == "" {
		cfg.LoginURL = "https://login.microsoftonline.com"
	}
	cc := clientcredentials.Config{ClientID: cfg.AppID, ClientSecret: cfg.AppSecret,
		TokenURL: strings.TrimRight(cfg.LoginURL, "/") + "/botframework.com/oauth2/v2.0/token",
		Scopes:   []string{"https://api.botframework.com/.default"}}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, cfg.HTTPClient)
	return &Bot{cfg: cfg, store: st, log: log, tokens: cc.TokenSource(ctx),
		verify: &verifier{appID: cfg.AppID, openIDURL: cfg.OpenIDURL, client: cfg.HTTPClient, now: time.Now}}
}

// Name is the channel's Via value.
func (b *Bot) Name() string { return chat.ViaTeams }

// Enabled reports whether the customer opted in (teams: in the directory
// file).
func (b *Bot) Enabled(customerID string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := b.store.ChatWorkspace(ctx, customerID, chat.ViaTeams)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		b.log.Error("read the customer's Teams tenant", "customer", customerID, "error", err)
	}
	return err == nil
}

// sent is a card in an approver's chat: where it is, and the request it
// shows, so a refresh rebuilds it (the delivery's ref).
type sent struct {
	ServiceURL     string       `json:"service_url"`
	ConversationID string       `json:"conversation"`
	ActivityID     string       `json:"activity"`
	Request        chat.Request `json:"request"`
}

// Deliver sends the request's card to the approver's bound conversation;
// an approver not bound (the app not installed for them) is unreachable.
func (b *Bot) Deliver(ctx context.Context, r chat.Request) (chat.Delivery, error) {
	bd, err := b.store.TeamsBindingOf(ctx, r.Approver.ID)
	if errors.Is(err, store.ErrNotFound) || err == nil && bd.CustomerID != r.CustomerID {
		return chat.Delivery{}, fmt.Errorf("%s has not installed the app in Teams: %w", r.Approver.Email, chat.ErrUnreachable)
	} else if err != nil {
		return chat.Delivery{}, err
	}
	activity := message(card(r, chat.State{}, ""))
	var res struct {
		ID string `json:"id"`
	}
	path := "/v3/conversations/" + url.PathEscape(bd.ConversationID) + "/activities"
	if err := b.call(ctx, http.MethodPost, bd.ServiceURL, path, activity, &res); err != nil {
		return chat.Delivery{}, err
	}
	ref, err := json.Marshal(sent{ServiceURL: bd.ServiceURL, ConversationID: bd.ConversationID, ActivityID: res.ID, Request: r})
	if err != nil {
		return chat.Delivery{}, err
	}
	return chat.Delivery{Channel: chat.ViaTeams, Ref: string(ref)}, nil
}

// Refresh updates every card sent for the request to st.
func (b *Bot) Refresh(ctx context.Context, assignmentID string, extension int, st chat.State) error {
	ds, err := b.store.ChatDeliveries(ctx, assignmentID)
	if err != nil {
		return err
	}
	var errs []error
	for _, d := range ds {
		if d.Channel != chat.ViaTeams || d.Extension != extension || d.State != store.ChatSent {
			continue
		}
		errs = append(errs, b.update(ctx, d, st, ""))
	}
	return errors.Join(errs...)
}

// update replaces one card with the request as it stands.
func (b *Bot) update(ctx context.Context, d store.ChatDelivery, st chat.State, status string) error {
	var s sent
	if err := json.Unmarshal([]byte(d.Ref), &s); err != nil {
		return fmt.Errorf("card of %s to %s: %w", d.AssignmentID, d.ApproverID, err)
	}
	path := "/v3/conversations/" + url.PathEscape(s.ConversationID) + "/activities/" + url.PathEscape(s.ActivityID)
	return b.call(ctx, http.MethodPut, s.ServiceURL, path, message(card(s.Request, st, status)), nil)
}

// message is an activity carrying one Adaptive Card.
func message(c map[string]any) map[string]any {
	return map[string]any{"type": "message", "attachments": []any{map[string]any{"contentType": cardContentType, "content": c}}}
}

// call makes one Bot Connector request with the bot's token. The service
// URL is one an activity verified by its token named (a binding's), never
// one taken from anywhere else.
func (b *Bot) call(ctx context.Context, method, serviceURL, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(serviceURL, "/")+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	tok, err := b.tokens.Token()
	if err != nil {
		return fmt.Errorf("the bot's token: %w", redact(err))
	}
	tok.SetAuthHeader(req)
	res, err := b.cfg.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("Bot Connector %s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		io.Copy(io.Discard, io.LimitReader(res.Body, 1<<16))
		return fmt.Errorf("Bot Connector %s %s: %s", method, path, res.Status)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(out)
}

// redact keeps a token endpoint's failure without anything it echoed of
// the request (oauth2's errors may carry the response body).
func redact(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return fmt.Errorf("token endpoint answered %s %s", re.Response.Status, re.ErrorCode)
	}
	return err
}
