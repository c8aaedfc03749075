package teamstest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
)

// DevChat is the dev mode's Teams: the stand-in with approvers' 1:1
// conversations installed, shown at /dev/chat, where a newcomer presses a
// card's buttons. A press goes to the bot as Teams would send it, signed
// by the stand-in's issuer, through the bot's own messages endpoint.
type DevChat struct {
	Stub   *Stub
	Tenant string
	bot    http.Handler

	mu      sync.Mutex
	members []Member
	answers map[string]string // the last answer to a press, by activity ID
}

// NewDevChat is the dev chat of tenant, whose clicks the bot takes.
func NewDevChat(stub *Stub, tenant string, bot http.Handler) *DevChat {
	return &DevChat{Stub: stub, Tenant: tenant, bot: bot, answers: map[string]string{}}
}

// Conversation is one person's 1:1 chat with the bot, cards newest first.
type Conversation struct {
	Member Member
	ID     string
	Cards  []DevCard
}

// DevCard is a card as the page shows it.
type DevCard struct {
	ActivityID string
	Text       []string
	Buttons    []Action
	Answer     string // what the bot answered the last press
}

// Install installs the app for m, as a tenant's administrator would:
// Teams posts the conversationUpdate, and the bot binds the conversation.
func (d *DevChat) Install(m Member) error {
	code, body := d.post(d.Stub.Install(d.Tenant, convOf(m), m))
	if code != http.StatusOK {
		return fmt.Errorf("install the app for %s: %d %s", m.Email, code, body)
	}
	d.mu.Lock()
	d.members = append(d.members, m)
	d.mu.Unlock()
	return nil
}

func convOf(m Member) string { return "a:dev-1on1-" + m.AADObjectID }

// Conversations are the installed members' chats.
func (d *DevChat) Conversations() []Conversation {
	d.mu.Lock()
	members := append([]Member(nil), d.members...)
	answers := map[string]string{}
	for k, v := range d.answers {
		answers[k] = v
	}
	d.mu.Unlock()
	acts := d.Stub.Activities()
	out := make([]Conversation, len(members))
	for i, m := range members {
		out[i] = Conversation{Member: m, ID: convOf(m)}
		for j := len(acts) - 1; j >= 0; j-- {
			if acts[j].Conversation != convOf(m) {
				continue
			}
			content, buttons := Card(acts[j])
			out[i].Cards = append(out[i].Cards, DevCard{ActivityID: acts[j].ID, Text: texts(content), Buttons: buttons,
				Answer: answers[acts[j].ID]})
		}
	}
	return out
}

// Press presses button verb of card activityID as the member whose chat
// holds it, and keeps the bot's answer for the page.
func (d *DevChat) Press(activityID, verb string) error {
	for _, c := range d.Conversations() {
		for _, card := range c.Cards {
			if card.ActivityID != activityID {
				continue
			}
			for _, b := range card.Buttons {
				if b.Verb != verb {
					continue
				}
				code, body := d.post(d.Stub.Click(d.Tenant, c.ID, c.Member, verb, b.Data))
				var r struct {
					StatusCode int            `json:"statusCode"`
					Value      map[string]any `json:"value"`
				}
				if code != http.StatusOK || json.Unmarshal(body, &r) != nil {
					return fmt.Errorf("the bot answered %d", code)
				}
				answer, _ := r.Value["message"].(string)
				if lines := texts(r.Value); r.StatusCode == http.StatusOK && len(lines) > 0 {
					answer = lines[len(lines)-1]
				}
				d.mu.Lock()
				d.answers[activityID] = answer
				d.mu.Unlock()
				return nil
			}
		}
	}
	return fmt.Errorf("no button %q on card %s", verb, activityID)
}

// post sends an activity to the bot in-process, with a token of the
// stand-in's issuer.
func (d *DevChat) post(activity any) (int, []byte) {
	body, _ := json.Marshal(activity)
	req := httptest.NewRequest(http.MethodPost, "/integrations/teams/messages", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+d.Stub.Token(Claims{}))
	rec := httptest.NewRecorder()
	d.bot.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

// texts are a card's text blocks and facts, in order.
func texts(card map[string]any) []string {
	var out []string
	body, _ := card["body"].([]any)
	for _, b := range body {
		m, _ := b.(map[string]any)
		if s, ok := m["text"].(string); ok {
			out = append(out, s)
		}
		facts, _ := m["facts"].([]any)
		for _, f := range facts {
			fm, _ := f.(map[string]any)
			out = append(out, fmt.Sprintf("%v: %v", fm["title"], fm["value"]))
		}
	}
	return out
}
