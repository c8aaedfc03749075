package app

import (
	"fmt"
	"io"
	"net/url"
	"path/filepath"

	"github.com/partneraccess/partneraccess/internal/config"
	"github.com/partneraccess/partneraccess/internal/demo"
)

// banner tells whoever started the process where each part listens and,
// in one-process mode, the demo logins.
func banner(out io.Writer, cfg config.Config, r Ready) {
	switch cfg.Mode {
	case config.ModeWorker:
		fmt.Fprintf(out, "Partner Access worker on task queue %q of %s (namespace %s), store: %s\n", cfg.TaskQueue, r.TemporalURL, cfg.TemporalNamespace, storeName(cfg))
		if r.HTTPURL != "" {
			fmt.Fprintf(out, "  metrics:   %s/metrics\n", r.HTTPURL)
		}
		return
	case config.ModeServer:
		fmt.Fprintf(out, "Partner Access server at %s (Temporal %s), store: %s\n", r.HTTPURL, r.TemporalURL, storeName(cfg))
		return
	case config.ModeTemporal:
		scheme := "plain gRPC"
		if cfg.TemporalTLSCert != "" {
			scheme = "TLS"
		}
		fmt.Fprintf(out, "Temporal for Partner Access (namespace %s, data in %s)\n", cfg.TemporalNamespace, cfg.DataDir)
		fmt.Fprintf(out, "  frontend:    %s (%s)  TEMPORAL_ADDRESS=%s for worker and server\n", r.TemporalURL, scheme, r.TemporalURL)
		if r.UIURL != "" {
			fmt.Fprintf(out, "  Temporal UI: %s\n", r.UIURL)
		}
		fmt.Fprintf(out, "Press Ctrl-C to stop.\n")
		return
	}
	fmt.Fprintf(out, "\nPartner Access is running.\n\n")
	fmt.Fprintf(out, "  Web app:     %s\n", r.HTTPURL)
	fmt.Fprintf(out, "  API:         %s/api/v1\n", r.HTTPURL)
	if on, _ := cfg.Mailbox(); on {
		fmt.Fprintf(out, "  Dev mailbox: %s/dev/mail\n", r.HTTPURL)
	}
	if cfg.Mode == config.ModeAll && cfg.DemoData {
		fmt.Fprintf(out, "  Dev directory: %s/dev/directory (Contoso's and Fabrikam's Entra tenants, stood in for)\n", r.HTTPURL)
	}
	if r.UIURL != "" {
		fmt.Fprintf(out, "  Temporal UI: %s\n", r.UIURL)
	}
	fmt.Fprintf(out, "  Temporal:    %s (namespace %s)\n  Data:        %s\n  Store:       %s\n", r.TemporalURL, cfg.TemporalNamespace, cfg.DataDir, storeName(cfg))
	if cfg.DemoData {
		fmt.Fprintf(out, "\nDemo logins (password %q):\n", demo.Password)
		for _, l := range demo.Logins {
			fmt.Fprintf(out, "  %-24s %s\n", l.Email, l.Does)
		}
	}
	fmt.Fprintf(out, "\nPress Ctrl-C to stop.\n")
}

// storeName says where the store is, without the password.
func storeName(cfg config.Config) string {
	if cfg.DatabaseURL == "" {
		return "SQLite in " + filepath.Join(cfg.DataDir, "partner-access.db")
	}
	u, err := url.Parse(cfg.DatabaseURL)
	if err != nil {
		return "PostgreSQL"
	}
	return "PostgreSQL at " + u.Host + u.Path
}
