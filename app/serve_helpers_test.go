package app_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
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

// serveAsHelper is the body of a helper process, a Test function that is not a test: when env
// is set the test binary is a serve process with the configuration config makes of env's
// value, serving the pages too on its Listen address until SIGINT; else it skips, naming the
// test it serves (forTest).
func serveAsHelper(t *testing.T, env, forTest string, config func(spec string) app.Config) {
	spec := os.Getenv(env)
	if spec == "" {
		t.Skip("helper process for " + forTest)
	}
	cfg := config(spec)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rt, err := app.Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	web, err := rt.Web()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Serve(ctx, ln, web); err != nil {
		t.Fatal(err)
	}
}
