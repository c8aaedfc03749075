package server

import (
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"

	"github.com/partneraccess/partneraccess/internal/service"
	"github.com/partneraccess/partneraccess/internal/store"
)

// mailboxQuery is the mailbox's filter from the query: ?to= and ?assignment=.
func mailboxQuery(c *gin.Context) service.MailboxQuery {
	return service.MailboxQuery{To: c.Query("to"), AssignmentID: c.Query("assignment")}
}

// pageDevMail shows the mailbox newest first, each email as its subject,
// whom it went to and its links, with the full text folded; the filter
// offers the recipients and assignments the reader's mailbox holds.
func (s *Server) pageDevMail(c *gin.Context) {
	ctx, reader, q := c.Request.Context(), mailboxReader(c), mailboxQuery(c)
	all, err := s.svc.Mailbox(ctx, reader, service.MailboxQuery{})
	if err != nil {
		s.fail(c, err)
		return
	}
	shown := all
	if q != (service.MailboxQuery{}) {
		if shown, err = s.svc.Mailbox(ctx, reader, q); err != nil {
			s.fail(c, err)
			return
		}
	}
	slices.Reverse(shown) // newest first
	s.render(c, http.StatusOK, "devmail", gin.H{"Emails": shown, "Query": q, "Total": len(all),
		"Recipients": mailRecipients(all), "Assignments": mailAssignments(all)})
}

// mailRecipients are the addresses mail went to, sorted.
func mailRecipients(es []store.Email) []string {
	var to []string
	for _, e := range es {
		to = append(to, e.To)
	}
	slices.Sort(to)
	return slices.Compact(to)
}

// mailAssignment is an assignment the mailbox has mail of, named by the
// subject of its first email.
type mailAssignment struct{ ID, Label string }

// mailAssignments lists the assignments of the mail, newest first.
func mailAssignments(es []store.Email) []mailAssignment {
	var out []mailAssignment
	seen := map[string]bool{}
	for _, e := range es {
		if e.AssignmentID == "" || seen[e.AssignmentID] {
			continue
		}
		seen[e.AssignmentID] = true
		out = append(out, mailAssignment{ID: e.AssignmentID, Label: e.Subject})
	}
	slices.Reverse(out)
	return out
}
