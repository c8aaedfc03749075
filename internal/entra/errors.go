package entra

import (
	"errors"
	"fmt"
	"time"

	"github.com/partneraccess/partneraccess/internal/graph"
	"github.com/partneraccess/partneraccess/internal/target"
)

func lag(msg string) error {
	return &target.Error{Msg: msg + " (Entra replicates a new account within seconds; retrying)", RetryAfter: 2 * time.Second}
}

// refusal maps a Graph error: a 401 or 403 is permanent and names the
// permission that is likely missing; a 429 or 5xx carries its Retry-After.
func refusal(err error) error {
	if err == nil {
		return nil
	}
	if graph.Denied(err) {
		msg := err.Error()
		if p := graph.Permission(err); p != "" {
			msg = fmt.Sprintf("%s (the app registration needs the application permission %s, with admin consent)", msg, p)
		}
		return &target.Error{Msg: msg, Permanent: true, Err: err}
	}
	if retry, after := graph.Retryable(err); retry {
		return &target.Error{Msg: err.Error(), RetryAfter: after, Err: err}
	}
	var ge *graph.Error
	if errors.As(err, &ge) {
		return &target.Error{Msg: err.Error(), Err: err}
	}
	return err
}
