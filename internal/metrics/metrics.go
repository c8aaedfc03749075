// Package metrics holds the service's Prometheus metrics: HTTP requests,
// business events and the store's gauges. The server, the service and a
// worker alone all record into one registry.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/store"
)

// Metrics are the HTTP and business metrics (docs/operations.md lists them).
type Metrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	assigns     *prometheus.CounterVec
	decisions   *prometheus.CounterVec
	wait        prometheus.Histogram
	refusals    *prometheus.CounterVec
	rateLimited *prometheus.CounterVec
	reconcile   prometheus.Counter
	drift       *prometheus.CounterVec
	webhooks    *prometheus.CounterVec
}

// New registers the metrics on reg (a new registry when nil); the
// active-grants gauge reads the store when scraped.
func New(reg *prometheus.Registry, s *store.Store) *Metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "partner_access_http_requests_total", Help: "HTTP requests by method, route and status.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "partner_access_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}, []string{"method", "route"}),
		assigns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "partner_access_assignments_started_total", Help: "Assignment workflows started, by edition.",
		}, []string{"edition"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "partner_access_decisions_total", Help: "Approval decisions that took effect, by decision.",
		}, []string{"decision"}),
		wait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "partner_access_approval_wait_seconds", Help: "Time from request to an approver's decision.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 12),
		}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "partner_access_refusals_total", Help: "Refused attempts, by rule.",
		}, []string{"rule"}),
		reconcile: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "partner_access_reconciled_total", Help: "Grants the reconciler revoked because their workflow was closed, terminated or missing.",
		}),
		drift: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "partner_access_drift_total", Help: "Memberships in customers' directories the reconciler repaired, by target and kind (removed, restored).",
		}, []string{"target", "kind"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "partner_access_webhook_deliveries_total",
			Help: "Webhook delivery attempts, by outcome: delivered, failed (retried with backoff), gave_up (the webhook paused).",
		}, []string{"outcome"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "partner_access_rate_limited_total", Help: "Attempts refused beyond a rate limit (429), by limit; none is written to the audit log.",
		}, []string{"limit"}),
	}
	grants := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "partner_access_active_grants", Help: "Access grants in force now.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		n, err := s.ActiveGrants(ctx, time.Now())
		if err != nil {
			return -1
		}
		return float64(n)
	})
	pending := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "partner_access_revocations_pending",
		Help: "Revocations a customer's directory has not let happen or be proven yet (retried without end).",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		n, err := s.RevocationsPending(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	})
	reg.MustRegister(m.requests, m.latency, m.assigns, m.decisions, m.wait, m.refusals, m.rateLimited, m.reconcile, m.drift, m.webhooks, grants, pending,
		assignmentsByState{s})
	return m
}

// assignmentsByState is the gauge of assignments in each state,
// counted in the store when scraped, so every process reports the same
// figures and nothing has to track the workflows' moves.
type assignmentsByState struct{ s *store.Store }

var assignmentsDesc = prometheus.NewDesc("partner_access_assignments",
	"Assignments by state, counted in the store when scraped.", []string{"state"}, nil)

func (c assignmentsByState) Describe(ch chan<- *prometheus.Desc) { ch <- assignmentsDesc }

func (c assignmentsByState) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	n, err := c.s.AssignmentsByState(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(assignmentsDesc, err)
		return
	}
	for _, state := range domain.States { // every state, 0 included, so a series never vanishes
		ch <- prometheus.MustNewConstMetric(assignmentsDesc, prometheus.GaugeValue, float64(n[state]), state)
	}
}

// RegisterRuntime adds the Go runtime and process collectors.
func (m *Metrics) RegisterRuntime() {
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler { return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}) }

// Request counts an HTTP request and its latency, by route.
func (m *Metrics) Request(method, route string, status int, took time.Duration) {
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(method, route).Observe(took.Seconds())
}

// Started counts an assignment workflow started.
func (m *Metrics) Started(edition string) { m.assigns.WithLabelValues(edition).Inc() }

// Decided counts a decision that took effect and how long it waited.
func (m *Metrics) Decided(decision string, wait time.Duration) {
	m.decisions.WithLabelValues(decision).Inc()
	m.wait.Observe(wait.Seconds())
}

// Refused counts a refused attempt by its rule ("none" without one).
func (m *Metrics) Refused(rule string) {
	if rule == "" {
		rule = "none"
	}
	m.refusals.WithLabelValues(rule).Inc()
}

// Reconciled counts a grant the reconciler revoked.
func (m *Metrics) Reconciled() { m.reconcile.Inc() }

// Drifted counts a membership the reconciler repaired.
func (m *Metrics) Drifted(target, kind string) { m.drift.WithLabelValues(target, kind).Inc() }

// Limited counts an attempt refused beyond the named rate limit.
func (m *Metrics) Limited(name string) { m.rateLimited.WithLabelValues(name).Inc() }

// WebhookDelivery counts a webhook delivery attempt by its outcome.
func (m *Metrics) WebhookDelivery(outcome string) { m.webhooks.WithLabelValues(outcome).Inc() }
