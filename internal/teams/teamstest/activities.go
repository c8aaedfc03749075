package teamstest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
)

// BotID is the bot's own account in the activities the stand-in makes.
const BotID = "28:partner-access-bot"

// Install is the conversationUpdate Teams posts when the app is installed
// for m: the member added to the 1:1 conversation conv, in tenant. The
// stand-in then answers the bot's read of m.
func (s *Stub) Install(tenant, conv string, m Member) map[string]any {
	s.AddMember(conv, m)
	return map[string]any{
		"type": "conversationUpdate", "serviceUrl": s.URL, "channelId": "msteams",
		"from":         map[string]any{"id": m.ID, "aadObjectId": m.AADObjectID},
		"recipient":    map[string]any{"id": BotID},
		"membersAdded": []any{map[string]any{"id": m.ID}, map[string]any{"id": BotID}},
		"conversation": map[string]any{"id": conv, "conversationType": "personal", "tenantId": tenant},
		"channelData":  map[string]any{"tenant": map[string]any{"id": tenant}},
	}
}

// Click is the invoke Teams posts when m presses a card's Action.Execute
// button (verb, data) in conversation conv of tenant.
func (s *Stub) Click(tenant, conv string, m Member, verb string, data any) map[string]any {
	return map[string]any{
		"type": "invoke", "name": "adaptiveCard/action", "serviceUrl": s.URL, "channelId": "msteams",
		"from":         map[string]any{"id": m.ID, "name": m.Name, "aadObjectId": m.AADObjectID},
		"recipient":    map[string]any{"id": BotID},
		"conversation": map[string]any{"id": conv, "conversationType": "personal", "tenantId": tenant},
		"channelData":  map[string]any{"tenant": map[string]any{"id": tenant}},
		"value":        map[string]any{"action": map[string]any{"type": "Action.Execute", "verb": verb, "data": data}},
	}
}

// Post sends an activity to the bot's messages endpoint with a token, as
// the Bot Framework does; it answers the status and the body.
func Post(client *http.Client, endpoint, token string, activity any) (int, []byte, error) {
	body, err := json.Marshal(activity)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequest(http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	return res.StatusCode, out, err
}

// Action is a card's button.
type Action struct {
	Type  string         `json:"type"`
	Title string         `json:"title"`
	Verb  string         `json:"verb"`
	URL   string         `json:"url"`
	Data  map[string]any `json:"data"`
}

// Card is the Adaptive Card an activity carries (the last update's when
// there is one), and its buttons.
func Card(a Activity) (map[string]any, []Action) {
	body := a.Body
	if n := len(a.Updates); n > 0 {
		body = a.Updates[n-1]
	}
	atts, _ := body["attachments"].([]any)
	if len(atts) == 0 {
		return nil, nil
	}
	att, _ := atts[0].(map[string]any)
	content, _ := att["content"].(map[string]any)
	raw, _ := json.Marshal(content["actions"])
	var actions []Action
	json.Unmarshal(raw, &actions)
	return content, actions
}
