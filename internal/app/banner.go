package app

import (
	"fmt"
	"io"
	"net"
	"net/url"
	"path/filepath"
	"strings"

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
		fmt.Fprintf(out, "Partner Access server at %s (Temporal %s), store: %s\n", r.PublicURL, r.TemporalURL, storeName(cfg))
		fmt.Fprintf(out, "  listening: %s\n", strings.Join(r.Listening, ", "))
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
	base := strings.TrimRight(r.PublicURL, "/")
	fmt.Fprintf(out, "  Web app:     %s\n", base)
	if len(r.Listening) != 1 || r.Listening[0] != base {
		fmt.Fprintf(out, "  Listening:   %s\n", strings.Join(r.Listening, ", "))
	}
	fmt.Fprintf(out, "  API:         %s/api/v1\n", base)
	if on, _ := cfg.Mailbox(); on {
		fmt.Fprintf(out, "  Dev mailbox: %s/dev/mail\n", base)
	}
	if cfg.Mode == config.ModeAll && cfg.DemoData {
		fmt.Fprintf(out, "  Dev directory: %s/dev/directory (Contoso's and Fabrikam's Entra tenants, stood in for)\n", base)
		if cfg.TeamsAppID == "" {
			fmt.Fprintf(out, "  Dev chat:    %s/dev/chat (Contoso's approvers in a stand-in for Microsoft Teams)\n", base)
		}
	}
	if r.UIURL != "" {
		fmt.Fprintf(out, "  Temporal UI: %s\n", r.UIURL)
	}
	fmt.Fprintf(out, "  Temporal:    %s (namespace %s)\n  Data:        %s\n  Store:       %s\n", r.TemporalURL, cfg.TemporalNamespace, cfg.DataDir, storeName(cfg))
	if cfg.DemoData {
		fmt.Fprintf(out, "\nDemo logins (password %q):\n", demo.Password)
		for _, l := range demo.Logins {
			fmt.Fprintf(out, "  %-26s %s\n", l.Email, l.Does)
		}
	}
	fmt.Fprintf(out, "\nPress Ctrl-C to stop.\n")
}

// listenedURLs are the URLs a listener at addr answers on: its own, or for
// an unspecified address (0.0.0.0, [::]) one per address of this
// machine's interfaces, which is what "all interfaces" means here.
func listenedURLs(scheme string, addr net.Addr) []string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return []string{scheme + "://" + addr.String()}
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsUnspecified() {
		return []string{scheme + "://" + addr.String()}
	}
	ifaces, err := net.InterfaceAddrs()
	var urls []string
	for _, a := range ifaces {
		n, ok := a.(*net.IPNet)
		if !ok || n.IP.IsLinkLocalUnicast() || (n.IP.To4() == nil && host == "0.0.0.0") {
			continue
		}
		urls = append(urls, scheme+"://"+net.JoinHostPort(n.IP.String(), port))
	}
	if err != nil || len(urls) == 0 {
		return []string{scheme + "://" + addr.String()}
	}
	return urls
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
