// Package activities holds the side effects of the assignment workflow: the
// projection and audit log in the store, emails, and access changes. Each
// method is idempotent, so Temporal may retry it freely.
package activities

import (
	"github.com/partneraccess/partneraccess/internal/access"
	"github.com/partneraccess/partneraccess/internal/chat"
	"github.com/partneraccess/partneraccess/internal/mail"
	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/target"
)

// Config is what the activities need from the service configuration.
type Config struct {
	PublicURL      string       // base of links in emails
	MailFrom       mail.Address // sender of every email but the AVD instructions
	AVDMailFrom    mail.Address // the no-reply sender of the AVD instructions (R5)
	AVDDownloadURL string
}

// Activities are the workflow's side effects, with their dependencies injected.
type Activities struct {
	Store       *store.Store
	Mail        mail.Sender // nil: emails stay, bodies included, in the store's mailbox
	Provisioner access.Provisioner
	Keys        *secret.Keys
	Config      Config
	// Workflows lets the reconciler find assignment workflows (nil: it
	// refuses to run); Reconciled counts each grant it revokes (may be nil).
	Workflows  WorkflowLookup
	Reconciled func()
	// Directories change access in customers' directories, by kind of
	// target (TargetEntra, TargetLDAP); a customer whose kind has none fails
	// activation.
	Directories map[string]target.Directory
	// Drifted counts a drift repaired, by kind of target and of drift (may
	// be nil).
	Drifted func(target, kind string)
	// Chats are the chat channels beside email (Teams, Slack) that
	// deliver requests to approvers and refresh them (none: email alone).
	Chats chat.Registry
	// Reviews removes what an access review removes, through the service
	// (nil: a review that removes fails); ReviewDefaults are the review
	// settings of an organization without its own (SPEC §15).
	Reviews        ReviewRemovals
	ReviewDefaults ReviewDefaults
	// Webhook sends the organizations' events to their webhooks (SPEC §15).
	Webhook WebhookConfig
}

// New wires the activities with the default provisioner; a nil sender keeps
// emails in the local mailbox.
func New(st *store.Store, sender mail.Sender, keys *secret.Keys, cfg Config) *Activities {
	return &Activities{Store: st, Mail: sender, Provisioner: &access.StoreProvisioner{Store: st, Keys: keys}, Keys: keys, Config: cfg}
}
