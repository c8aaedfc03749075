package teams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/partneraccess/partneraccess/internal/chat"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/store"
)

// maxActivity bounds an activity's body.
const maxActivity = 256 << 10

// activity is what the Bot Framework posts: the fields this bot reads.
type activity struct {
	Type         string    `json:"type"`
	Name         string    `json:"name"`
	ServiceURL   string    `json:"serviceUrl"`
	From         account   `json:"from"`
	Recipient    account   `json:"recipient"`
	MembersAdded []account `json:"membersAdded"`
	Conversation struct {
		ID               string `json:"id"`
		ConversationType string `json:"conversationType"`
		TenantID         string `json:"tenantId"`
	} `json:"conversation"`
	ChannelData struct {
		Tenant struct {
			ID string `json:"id"`
		} `json:"tenant"`
	} `json:"channelData"`
	Value json.RawMessage `json:"value"`
}

type account struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	AADObjectID string `json:"aadObjectId"`
}

// member is a Teams member as the Bot Connector reads it.
type member struct {
	ID                string `json:"id"`
	Name              string `json:"name"`
	AADObjectID       string `json:"aadObjectId"`
	Email             string `json:"email"`
	UserPrincipalName string `json:"userPrincipalName"`
	TenantID          string `json:"tenantId"`
}

// tenant is the Entra tenant the activity comes from.
func (a activity) tenant() string {
	if a.ChannelData.Tenant.ID != "" {
		return a.ChannelData.Tenant.ID
	}
	return a.Conversation.TenantID
}

// ServeHTTP is the messages endpoint (POST /integrations/teams/messages):
// an activity whose token does not verify is 401, audited; a verified one
// binds a conversation (conversationUpdate) or applies a click (invoke
// adaptiveCard/action); anything else is acknowledged and ignored.
func (b *Bot) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxActivity))
	var act activity
	if err == nil {
		err = json.Unmarshal(body, &act)
	}
	if err != nil || act.ServiceURL == "" {
		b.refuse(r.Context(), "an activity that cannot be read")
		http.Error(w, "not a Bot Framework activity", http.StatusBadRequest)
		return
	}
	if err := b.verify.verify(r.Context(), r.Header.Get("Authorization"), act.ServiceURL); err != nil {
		var bad errUnauthorized
		if !errors.As(err, &bad) {
			b.log.Error("Bot Framework keys", "error", err)
			http.Error(w, "the Bot Framework's keys cannot be read now", http.StatusServiceUnavailable)
			return
		}
		b.refuse(r.Context(), "an activity refused: "+bad.why)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	switch {
	case act.Type == "conversationUpdate":
		b.bind(r.Context(), act)
		w.WriteHeader(http.StatusOK)
	case act.Type == "invoke" && act.Name == "adaptiveCard/action":
		writeJSON(w, b.click(r.Context(), act))
	default:
		w.WriteHeader(http.StatusOK)
	}
}

func (b *Bot) refuse(ctx context.Context, detail string) {
	if b.Refused != nil {
		b.Refused(ctx, detail)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// bind binds the 1:1 conversation of each member added to the customer
// user of that tenant with that email; nobody else is bound, and a member
// of another tenant never is. Each is audited (teams.bound).
func (b *Bot) bind(ctx context.Context, act activity) {
	if act.Conversation.ConversationType != "personal" {
		return // a team or group chat: approvals go to 1:1 chats only
	}
	tenant := act.tenant()
	ws, err := b.store.CustomerOfWorkspace(ctx, chat.ViaTeams, tenant)
	if err != nil {
		b.audit(ctx, store.AuditEntry{Action: domain.ActionTeamsBound, Outcome: store.OutcomeRefused,
			Detail: "the app was installed in tenant " + tenant + ", which no customer opted in with; nobody was bound"}, err)
		return
	}
	for _, m := range act.MembersAdded {
		if m.ID == act.Recipient.ID {
			continue // the bot itself
		}
		b.bindMember(ctx, act, ws, m.ID)
	}
}

func (b *Bot) bindMember(ctx context.Context, act activity, ws store.ChatWorkspace, memberID string) {
	var m member
	path := "/v3/conversations/" + url.PathEscape(act.Conversation.ID) + "/members/" + url.PathEscape(memberID)
	if err := b.call(ctx, http.MethodGet, act.ServiceURL, path, nil, &m); err != nil {
		b.log.Warn("read Teams member", "error", err)
		return
	}
	refused := func(why string) {
		b.audit(ctx, store.AuditEntry{Action: domain.ActionTeamsBound, Outcome: store.OutcomeRefused, CustomerID: ws.CustomerID,
			Detail: why + "; nobody was bound"}, nil)
	}
	email := m.Email
	if email == "" {
		email = m.UserPrincipalName
	}
	switch {
	case m.TenantID != "" && m.TenantID != ws.WorkspaceID:
		refused("a member of another tenant (" + m.TenantID + ")")
		return
	case m.AADObjectID == "" || email == "":
		refused("a member without an Entra object ID or email")
		return
	}
	u, err := b.store.UserByEmail(ctx, email)
	if err != nil || u.Kind != store.KindCustomer || u.CustomerID != ws.CustomerID || u.Status != store.StatusActive {
		refused("no active user of the customer has the email " + email)
		return
	}
	err = b.store.BindTeams(ctx, store.TeamsBinding{UserID: u.ID, CustomerID: ws.CustomerID, TenantID: ws.WorkspaceID,
		AADObjectID: m.AADObjectID, ConversationID: act.Conversation.ID, ServiceURL: act.ServiceURL, BoundAt: time.Now()})
	if err != nil {
		b.log.Error("bind Teams conversation", "user", u.ID, "error", err)
		return
	}
	b.audit(ctx, store.AuditEntry{ActorID: u.ID, Action: domain.ActionTeamsBound, Outcome: store.OutcomeOK, CustomerID: ws.CustomerID,
		Detail: fmt.Sprintf("Teams conversation of %s bound to %s", m.Name, u.Email)}, nil)
}

func (b *Bot) audit(ctx context.Context, e store.AuditEntry, cause error) {
	if cause != nil && !errors.Is(cause, store.ErrNotFound) {
		b.log.Error("Teams binding", "error", cause)
		return
	}
	e.At = time.Now()
	if e.ActorID == "" {
		e.ActorID = "teams"
	}
	e.Via = chat.ViaTeams
	if err := b.store.Audit(context.WithoutCancel(ctx), e); err != nil {
		b.log.Error("audit log write failed", "error", err)
	}
}

// invokeResponse answers an adaptiveCard/action: the refreshed card, or an
// error the client shows.
type invokeResponse struct {
	StatusCode int    `json:"statusCode"`
	Type       string `json:"type"`
	Value      any    `json:"value"`
}

func invokeError(code int, message string) invokeResponse {
	return invokeResponse{StatusCode: code, Type: "application/vnd.microsoft.error",
		Value: map[string]string{"code": http.StatusText(code), "message": message}}
}

// click applies Approve or Deny: only from the bound approver the card was
// sent to (from.aadObjectId), in the customer's tenant; the service then
// checks the rest as for a link (a current approver, a request still
// waiting). It answers the card refreshed; the other approvers' cards are
// refreshed by the workflow once the decision is recorded.
func (b *Bot) click(ctx context.Context, act activity) invokeResponse {
	var v struct {
		Action struct {
			Type string     `json:"type"`
			Verb string     `json:"verb"`
			Data actionData `json:"data"`
		} `json:"action"`
	}
	if err := json.Unmarshal(act.Value, &v); err != nil || v.Action.Type != "Action.Execute" ||
		(v.Action.Verb != verbApprove && v.Action.Verb != verbDeny) {
		b.refuse(ctx, "a card action that is not Approve or Deny")
		return invokeError(http.StatusBadRequest, "This button is not one of Partner Access's.")
	}
	data, approve := v.Action.Data, v.Action.Verb == verbApprove
	refused := func(why string) invokeResponse {
		b.refuse(ctx, fmt.Sprintf("a click on assignment %s refused: %s", data.AssignmentID, why))
		return invokeError(http.StatusForbidden, "This decision did not count: "+why+".")
	}
	tenant := act.tenant()
	ws, err := b.store.CustomerOfWorkspace(ctx, chat.ViaTeams, tenant)
	if err != nil {
		return refused("the click came from a tenant no customer opted in with")
	}
	bd, err := b.store.TeamsBindingOfMember(ctx, tenant, act.From.AADObjectID)
	switch {
	case act.From.AADObjectID == "" || errors.Is(err, store.ErrNotFound):
		return refused("who clicked is not bound to a customer user")
	case err != nil:
		return invokeError(http.StatusServiceUnavailable, "Partner Access cannot take decisions now; try again.")
	case bd.CustomerID != ws.CustomerID:
		return refused("who clicked belongs to another customer")
	case bd.UserID != data.ApproverID:
		return refused("the card was sent to another approver")
	}
	d, err := b.store.ChatDeliveryOf(ctx, data.AssignmentID, data.Extension, data.ApproverID, chat.ViaTeams)
	if err != nil || d.State != store.ChatSent {
		return refused("no card of this request was sent to who clicked")
	}
	o, err := b.Decider.DecideInChat(ctx, chat.Decision{Via: chat.ViaTeams, CustomerID: ws.CustomerID, ApproverID: bd.UserID,
		AssignmentID: data.AssignmentID, Extension: data.Extension, Approve: approve})
	if err != nil {
		b.log.Error("decision in Teams", "assignment", data.AssignmentID, "error", err)
		return invokeError(http.StatusServiceUnavailable, "Partner Access cannot take decisions now; try again.")
	}
	var s sent
	if err := json.Unmarshal([]byte(d.Ref), &s); err != nil {
		return invokeError(http.StatusInternalServerError, "The card cannot be shown.")
	}
	st := chat.State{Decided: o.DecidedBy != "", Decision: o.Decision, DecidedBy: o.DecidedBy, DecidedAt: o.DecidedAt}
	if !st.Decided && o.Counted { // counted; the request waits for more approvals
		st.Decided = true // this approver has nothing left to press
	}
	return invokeResponse{StatusCode: http.StatusOK, Type: cardContentType, Value: card(s.Request, st, answer(o, approve))}
}

// MessagesPath is where the Azure Bot's messaging endpoint points.
const MessagesPath = "/integrations/teams/messages"
