package engine

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	"github.com/temporalio/ui-server/v2/server/server_options"
)

// startUI serves the Temporal Web UI beside the server, on cfg.UIAddr
// (a free port when it names none).
func (e *Engine) startUI(ctx context.Context, cfg Config) error {
	host, port, err := splitAddr(cfg.UIAddr)
	if err != nil {
		return fmt.Errorf("UI address: %w", err)
	}
	if port == 0 {
		if port, err = freePort(host); err != nil {
			return err
		}
	}
	// The UI server exits the process when it cannot listen, so check first.
	if err := portFree(host, port); err != nil {
		return fmt.Errorf("UI address %s: %w", cfg.UIAddr, err)
	}
	var uiTLS uiconfig.TLS
	if cfg.TLS.on() {
		uiTLS = uiconfig.TLS{CaFile: rootsFile(cfg.DataDir), CertFile: cfg.TLS.CertFile, KeyFile: cfg.TLS.KeyFile,
			ServerName: e.tls.ServerName, EnableHostVerification: true}
	}
	e.ui = uiserver.NewServer(server_options.WithConfigProvider(&uiconfig.Config{
		TemporalGRPCAddress: e.frontend,
		TLS:                 uiTLS,
		Host:                host,
		Port:                port,
		EnableUI:            true,
		DefaultNamespace:    cfg.Namespace,
		HideLogs:            true,
		DisableNewsFetch:    true,
		CORS:                uiconfig.CORS{CookieInsecure: true},
		Codec:               uiconfig.Codec{Endpoint: cfg.CodecEndpoint},
	}))
	go e.ui.Start()
	e.uiURL = "http://" + net.JoinHostPort(host, strconv.Itoa(port))
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(e.uiURL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("the Temporal UI did not answer at %s", e.uiURL)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
