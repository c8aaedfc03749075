package service

import (
	"context"
	"time"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/rules"
	"github.com/partneraccess/partneraccess/internal/store"
)

// RequestExtension asks for more Standard access (R4): the workflow sends
// the approvers one-time links, as for the first request. It answers the
// recorded request, or a refusal the workflow or the rules gave.
func (s *Service) RequestExtension(ctx context.Context, actor store.User, id, duration, reason string) (store.Extension, error) {
	a, ask, err := s.checkExtension(ctx, actor, id, duration, reason)
	if err != nil {
		return store.Extension{}, s.refuse(ctx, s.onAssignment(actor, domain.ActionExtensionRefused, id, a), err)
	}
	sig, err := s.wf.RequestExtension(ctx, run(a), person(actor), ask.d, ask.reason)
	if err != nil {
		return store.Extension{}, engineErr(err)
	}
	o, ok := s.awaitOutcome(ctx, a, sig, nil)
	switch {
	case !ok:
		return store.Extension{}, problem.Unavailable("the request for more time was sent, but the workflow has not answered yet; follow the assignment page")
	case o.Conflict: // one waits already, or none are left (R4)
		return store.Extension{}, problem.Settled("R4", "%s", o.Detail)
	case !o.Accepted:
		return store.Extension{}, problem.Unprocessable("R4", "", "%s", o.Detail)
	}
	return s.extension(context.WithoutCancel(ctx), a.ID, ask.n)
}

// extensionAsk is a checked request for more time.
type extensionAsk struct {
	d      time.Duration
	reason string
	n      int // the number it will get
}

// checkExtension applies the rules before anything is sent: who asks, the
// state, the duration, one request at a time and MAX_EXTENSIONS (or the
// policy's max_duration and max_extensions), and that
// the run takes extension requests at all (runs started before they
// existed do not).
func (s *Service) checkExtension(ctx context.Context, actor store.User, id, duration, reason string) (store.Assignment, extensionAsk, error) {
	var ask extensionAsk
	a, err := s.rules.VisibleAssignment(ctx, actor, id)
	if err != nil {
		return a, ask, err
	}
	if err := rules.CanAskExtension(actor, a); err != nil {
		return a, ask, err
	}
	// The site's policy caps the time asked for and the number of asks
	// (R10); without one they are ACCESS_DURATION and MAX_EXTENSIONS.
	site, err := s.store.SiteByID(ctx, a.SiteID)
	if err != nil {
		return a, ask, err
	}
	pol, err := s.sitePolicy(site)
	if err != nil {
		return a, ask, err
	}
	if ask.d, err = rules.ExtensionDuration(duration, pol.MaxDuration); err != nil {
		return a, ask, err
	}
	if ask.reason, err = rules.Reason(reason); err != nil {
		return a, ask, err
	}
	es, err := s.store.Extensions(ctx, a.ID)
	if err != nil {
		return a, ask, err
	}
	if err := rules.ExtensionsLeft(es, pol.MaxExtensions); err != nil {
		return a, ask, err
	}
	ask.n = len(es) + 1
	st, err := s.wf.Status(ctx, run(a))
	if err != nil {
		return a, ask, engineErr(err)
	}
	if !st.Extensible {
		return a, ask, problem.Settled("R4", "this assignment takes no extension requests: it started before they existed, or with MAX_EXTENSIONS=0; assign again once it ends")
	}
	return a, ask, nil
}
