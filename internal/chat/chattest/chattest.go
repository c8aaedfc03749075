// Package chattest is a chat channel that keeps what it is asked, for
// tests of the shared chat plumbing (the workflow's deliveries and
// refreshes, the recorded histories) apart from any chat service.
package chattest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/partneraccess/partneraccess/internal/chat"
)

// Channel records deliveries and refreshes in memory.
type Channel struct {
	name      string
	customers []string

	mu        sync.Mutex
	delivered []chat.Request
	refreshed []chat.State
	down      bool
	absent    map[string]bool // approver IDs it cannot reach
}

var _ chat.Channel = (*Channel)(nil)

// New is a channel named name (a Via value) that customers opted in to.
func New(name string, customers ...string) *Channel {
	return &Channel{name: name, customers: customers, absent: map[string]bool{}}
}

// Name is the channel's Via value.
func (c *Channel) Name() string { return c.name }

// Enabled reports whether the customer opted in.
func (c *Channel) Enabled(customerID string) bool { return slices.Contains(c.customers, customerID) }

// ErrDown is what a channel that is down answers.
var ErrDown = errors.New("chat service unavailable")

// Deliver records the request once per approver and request.
func (c *Channel) Deliver(_ context.Context, r chat.Request) (chat.Delivery, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.down:
		return chat.Delivery{}, ErrDown
	case c.absent[r.Approver.ID]:
		return chat.Delivery{}, fmt.Errorf("%s: %w", r.Approver.Email, chat.ErrUnreachable)
	}
	ref := fmt.Sprintf("%s/%d/%s", r.AssignmentID, r.Extension, r.Approver.ID)
	if !slices.ContainsFunc(c.delivered, func(d chat.Request) bool {
		return d.AssignmentID == r.AssignmentID && d.Extension == r.Extension && d.Approver.ID == r.Approver.ID
	}) {
		c.delivered = append(c.delivered, r)
	}
	return chat.Delivery{Channel: c.name, Ref: ref}, nil
}

// Refresh records the state.
func (c *Channel) Refresh(_ context.Context, _ string, _ int, st chat.State) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return ErrDown
	}
	c.refreshed = append(c.refreshed, st)
	return nil
}

// Down makes every call fail (true) or work again (false).
func (c *Channel) Down(down bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.down = down
}

// Unreachable makes the approver unreachable in this channel.
func (c *Channel) Unreachable(approverID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.absent[approverID] = true
}

// Delivered are the requests delivered so far.
func (c *Channel) Delivered() []chat.Request {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.delivered)
}

// Refreshed are the states refreshed so far.
func (c *Channel) Refreshed() []chat.State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.refreshed)
}
