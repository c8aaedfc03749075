// Package receiver is a webhook receiver on loopback for tests: it checks
// each delivery as the Standard Webhooks specification says (its own few
// lines, not the sender's library), keeps what it accepted, and can be
// made to fail or to hold deliveries for a while.
package receiver

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Delivery is one request the receiver accepted.
type Delivery struct {
	ID        string // webhook-id
	Timestamp string
	Body      []byte
	At        time.Time
}

// Receiver is a webhook endpoint on 127.0.0.1.
type Receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	secret string
	down   int           // answer this status (0: accept)
	hold   time.Duration // wait this long before answering
	got    []Delivery
	active int // requests being answered
	// Refused counts the requests whose check failed, and Failed those
	// answered with the down status.
	Refused, Failed int
}

// New starts a receiver; Close stops it.
func New() *Receiver {
	r := &Receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	return r
}

// URL is where to send.
func (r *Receiver) URL() string { return r.srv.URL + "/hook" }

// Close stops the receiver.
func (r *Receiver) Close() { r.srv.Close() }

// SetSecret is the secret the webhook was given (whsec_…).
func (r *Receiver) SetSecret(s string) { r.mu.Lock(); r.secret = s; r.mu.Unlock() }

// Down makes every request fail with status (0: accept again).
func (r *Receiver) Down(status int) { r.mu.Lock(); r.down = status; r.mu.Unlock() }

// Hold makes each request wait d before it is answered.
func (r *Receiver) Hold(d time.Duration) { r.mu.Lock(); r.hold = d; r.mu.Unlock() }

// Deliveries are the deliveries accepted, in the order they came.
func (r *Receiver) Deliveries() []Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Delivery(nil), r.got...)
}

// Counts are the refused and failed requests so far.
func (r *Receiver) Counts() (refused, failed int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.Refused, r.Failed
}

// Active is how many requests are being answered now.
func (r *Receiver) Active() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.active
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	r.mu.Lock()
	secret, down, hold := r.secret, r.down, r.hold
	r.active++
	r.mu.Unlock()
	defer func() { r.mu.Lock(); r.active--; r.mu.Unlock() }()
	if hold > 0 {
		select {
		case <-time.After(hold):
		case <-req.Context().Done():
			return
		}
	}
	if down != 0 {
		r.mu.Lock()
		r.Failed++
		r.mu.Unlock()
		w.WriteHeader(down)
		return
	}
	if err := Check(secret, req.Header, body, time.Now()); err != nil {
		r.mu.Lock()
		r.Refused++
		r.mu.Unlock()
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.got = append(r.got, Delivery{ID: req.Header.Get("webhook-id"), Timestamp: req.Header.Get("webhook-timestamp"), Body: body, At: time.Now()})
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// Tolerance is how far a delivery's timestamp may be from now.
const Tolerance = 5 * time.Minute

// Check is the receiver's side of the Standard Webhooks specification:
// the signature v1,<base64 HMAC-SHA256 of "id.timestamp.body"> under the
// base64 key after whsec_, made within Tolerance of now.
func Check(secret string, h http.Header, body []byte, now time.Time) error {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return errors.New("missing webhook-id, webhook-timestamp or webhook-signature")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("webhook-timestamp is not a number")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > Tolerance || d < -Tolerance {
		return fmt.Errorf("webhook-timestamp is %s away from now", d.Round(time.Second))
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || len(key) == 0 {
		return errors.New("no secret to check with")
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%s.%s", id, ts, body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, sig := range strings.Fields(sigs) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return nil
		}
	}
	return errors.New("no signature matches")
}

// Settled checks what a receiver got: each webhook-id the event's own id,
// one body per id however often it came (at least once: a repeat is the
// same event), and each subject's events in order of their ids. It returns
// the bodies by id.
func Settled(got []Delivery) (map[string][]byte, error) {
	bodies := map[string][]byte{}
	last := map[string]int64{}
	for _, d := range got {
		var ev struct{ ID, Subject string }
		if err := json.Unmarshal(d.Body, &ev); err != nil {
			return nil, fmt.Errorf("delivery %s: %v", d.ID, err)
		}
		if ev.ID != d.ID {
			return nil, fmt.Errorf("delivery %s carries event %s", d.ID, ev.ID)
		}
		if prev, ok := bodies[d.ID]; ok {
			if string(prev) != string(d.Body) {
				return nil, fmt.Errorf("event %s came again with another body", d.ID)
			}
			continue
		}
		bodies[d.ID] = d.Body
		id, err := strconv.ParseInt(ev.ID, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("event id %q", ev.ID)
		}
		if prev := last[ev.Subject]; ev.Subject != "" && cmp.Compare(id, prev) < 0 {
			return nil, fmt.Errorf("%s: event %d came after %d", ev.Subject, id, prev)
		}
		last[ev.Subject] = id
	}
	return bodies, nil
}
