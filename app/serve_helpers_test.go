package app_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/app"
	"github.com/openwrt-ppa/openwrt-ppa/forge/forgetest"
)

// githubAppKey writes the private key of gh's App into a file of tb's, for
// Config.GitHubPrivateKeyFile.
func githubAppKey(tb testing.TB, gh *forgetest.GitHub) string {
	tb.Helper()
	keyFile := filepath.Join(tb.TempDir(), "app.pem")
	if err := os.WriteFile(keyFile, gh.PrivateKeyPEM(), 0o600); err != nil {
		tb.Fatal(err)
	}
	return keyFile
}

// serveUntilEnd opens serve's runtime with cfg and serves on cfg.Listen, with the pages and API
// when withWeb (else webhooks, feeds and health only), until tb ends; it returns the base URL.
func serveUntilEnd(tb testing.TB, cfg app.Config, log *slog.Logger, withWeb bool) string {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	rt, err := app.Open(ctx, cfg, log)
	if err != nil {
		cancel()
		tb.Fatal(err)
	}
	var web http.Handler
	if withWeb {
		if web, err = rt.Web(); err != nil {
			cancel()
			_ = rt.Close()
			tb.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		cancel()
		_ = rt.Close()
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- rt.Serve(ctx, ln, web) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("serve: %v", err)
		}
		_ = rt.Close()
	})
	return "http://" + ln.Addr().String()
}
