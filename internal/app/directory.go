package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/partneraccess/partneraccess/internal/config"
	"github.com/partneraccess/partneraccess/internal/directory"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/mail"
	"github.com/partneraccess/partneraccess/internal/policy"
	"github.com/partneraccess/partneraccess/internal/rules"
	"github.com/partneraccess/partneraccess/internal/service"
	"github.com/partneraccess/partneraccess/internal/sso"
)

// runDirectory is `directory apply`: it applies the directory file to the
// store and sends the new administrators' invitations through the
// service's invitation path. It needs neither Temporal nor SECRET_KEY (an
// invitation link is a random token whose hash is stored).
func runDirectory(ctx context.Context, cfg config.Config, out io.Writer, log *slog.Logger) error {
	data, err := readDirectoryFile(cfg.DirectoryFile)
	if err != nil {
		return err
	}
	f, err := directory.Parse(data)
	if err != nil {
		return fmt.Errorf("%s: %w", cfg.DirectoryFile, err)
	}
	if cfg.DatabaseURL == "" {
		if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
			return fmt.Errorf("DATA_DIR: %w", err)
		}
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	defaultURL := cfg.PublicURL == ""
	if defaultURL {
		cfg.PublicURL = "http://" + cfg.HTTPAddr
	}
	var sender mail.Sender
	if cfg.SendGridAPIKey != "" && !cfg.StoreMailbox {
		sender = mail.NewSendGrid(cfg.SendGridAPIKey, cfg.SendGridBaseURL)
	}
	svc := service.New(service.Config{
		PublicURL: cfg.PublicURL, Mail: sender, InvitationTTL: cfg.InvitationTTL,
		MailFrom: mail.Address{Name: cfg.MailFrom.Name, Email: cfg.MailFrom.Address},
	}, st, nil, nil, log, nil)
	report, err := directory.Apply(ctx, st, svc, f, directory.Options{Resend: cfg.DirectoryResend,
		Discover: (&sso.Client{EntraLoginURL: cfg.EntraLoginURL}).Discover,
		Policy: directory.PolicyLimits{Ceiling: cfg.PolicyMaxDuration,
			Defaults: policy.Defaults(cfg.AccessDuration, cfg.ApprovalTimeout, cfg.MaxExtensions, rules.ApproverRoles)}})
	var problems directory.Problems
	if errors.As(err, &problems) {
		return fmt.Errorf("%s: %w", cfg.DirectoryFile, err)
	}
	fmt.Fprintf(out, "Applied %s to the %s store:\n", cfg.DirectoryFile, st.Dialect())
	report.Write(out)
	if err != nil {
		return err
	}
	if len(report.Invitations) > 0 && defaultURL {
		fmt.Fprintf(out, "Warning: PUBLIC_URL is not set: invitation links start with %s; set PUBLIC_URL to the address people reach the service at.\n", cfg.PublicURL)
	}
	if len(report.Invitations) > 0 {
		if sender != nil {
			fmt.Fprintf(out, "Invitation emails go through SendGrid from %s; each link works once, for %s.\n", cfg.MailFrom.Address, domain.HumanDuration(cfg.InvitationTTL))
		} else if cfg.DevMailbox || cfg.StoreMailbox || cfg.ListensOnLoopback() {
			fmt.Fprintf(out, "Without SENDGRID_API_KEY (or with MAILBOX=store) the invitation emails are kept in the store's mailbox: "+
				"the service shows them at %s/dev/mail. Each link works once, for %s.\n", cfg.PublicURL, domain.HumanDuration(cfg.InvitationTTL))
		} else {
			fmt.Fprintf(out, "Without SENDGRID_API_KEY the invitation emails are kept in the store's mailbox, which the service does not serve "+
				"with HTTP_ADDR %s beyond loopback unless DEV_MAILBOX=true (or MAILBOX=store): hand each administrator the link below. "+
				"Each link works once, for %s.\n", cfg.HTTPAddr, domain.HumanDuration(cfg.InvitationTTL))
		}
	}
	if report.Failed() {
		return errors.New("some invitation emails were not sent; apply the file again with -resend to send them")
	}
	return nil
}

// readDirectoryFile reads the file, refusing one larger than
// directory.MaxFileSize before reading it all: a 50 MB file once took
// minutes and gigabytes.
func readDirectoryFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, directory.MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > directory.MaxFileSize {
		return nil, fmt.Errorf("%s is larger than %d MiB; a directory file lists organizations and their administrators, and stays far smaller", name, directory.MaxFileSize>>20)
	}
	return data, nil
}
