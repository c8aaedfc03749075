package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/webhook"
)

// webhookView is a webhook; its secret is shown once, when it is made.
type webhookView struct {
	ID           string     `json:"id"`
	URL          string     `json:"url"`
	Events       []string   `json:"events"`
	Source       string     `json:"source"`
	State        string     `json:"state"` // active or paused
	PausedAt     *time.Time `json:"paused_at,omitempty"`
	PausedReason string     `json:"paused_reason,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	Secret       string     `json:"secret,omitempty"`
}

func newWebhookView(w store.Webhook) webhookView {
	v := webhookView{ID: w.ID, URL: w.URL, Events: []string{}, Source: w.Source, State: "active", PausedAt: w.PausedAt,
		PausedReason: w.PausedReason, CreatedAt: w.CreatedAt}
	for _, t := range w.EventTypes() {
		v.Events = append(v.Events, webhook.TypePrefix+t)
	}
	if w.PausedAt != nil {
		v.State = "paused"
	}
	return v
}

// deliveryView is one event sent, or to send, to a webhook.
type deliveryView struct {
	EventID       string     `json:"event_id"` // the webhook-id header
	Type          string     `json:"type"`
	Subject       string     `json:"subject,omitempty"`
	Status        string     `json:"status"`
	Attempts      int        `json:"attempts"`
	LastStatus    int        `json:"last_status,omitempty"`
	LastError     string     `json:"last_error,omitempty"`
	StagedAt      time.Time  `json:"staged_at"`
	LastAttemptAt *time.Time `json:"last_attempt_at,omitempty"`
	DeliveredAt   *time.Time `json:"delivered_at,omitempty"`
}

func newDeliveryView(d store.Delivery) deliveryView {
	return deliveryView{EventID: strconv.FormatInt(d.AuditID, 10), Type: webhook.TypePrefix + d.Type, Subject: d.Subject,
		Status: d.Status, Attempts: d.Attempts, LastStatus: d.LastStatus, LastError: d.LastError, StagedAt: d.StagedAt,
		LastAttemptAt: d.LastAttemptAt, DeliveredAt: d.DeliveredAt}
}

type webhookBody struct {
	URL    string   `json:"url"`
	Events []string `json:"events"`
}

func (s *Server) apiCreateWebhook(c *gin.Context) {
	u, _ := actor(c)
	var body webhookBody
	if err := decodeJSON(c, &body); err != nil {
		s.fail(c, err)
		return
	}
	w, err := s.svc.CreateWebhook(c.Request.Context(), u, body.URL, body.Events)
	if err != nil {
		s.fail(c, err)
		return
	}
	v := newWebhookView(w.Webhook)
	v.Secret = w.Secret
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, v)
}

func (s *Server) apiWebhooks(c *gin.Context) {
	u, _ := actor(c)
	ws, err := s.svc.Webhooks(c.Request.Context(), u)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"webhooks": mapViews(ws, newWebhookView)})
}

func (s *Server) apiDeleteWebhook(c *gin.Context) {
	u, _ := actor(c)
	if err := s.svc.DeleteWebhook(c.Request.Context(), u, c.Param("id")); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *Server) apiResumeWebhook(c *gin.Context) {
	u, _ := actor(c)
	w, err := s.svc.ResumeWebhook(c.Request.Context(), u, c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, newWebhookView(w))
}

func (s *Server) apiWebhookDeliveries(c *gin.Context) {
	u, _ := actor(c)
	var before int64
	if v := c.Query("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			s.fail(c, problem.Invalid("before", "before must be an event_id from the page before"))
			return
		}
		before = n
	}
	limit, err := queryLimit(c, 500)
	if err != nil {
		s.fail(c, err)
		return
	}
	w, ds, err := s.svc.WebhookDeliveries(c.Request.Context(), u, c.Param("id"), before, limit)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"webhook": newWebhookView(w), "deliveries": mapViews(ds, newDeliveryView)})
}
