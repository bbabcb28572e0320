package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/feeds"
)

// runServe serves DATA/feeds at the URL root. Later issues add the rest of the service.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("serve", flag.ContinueOnError)
	fl.SetOutput(stderr)
	data := fl.String("data", serveEnv("OPENWRT_PPA_DATA", "./data"), "data folder; its feeds/ subfolder is served at the URL root (env OPENWRT_PPA_DATA)")
	listen := fl.String("listen", serveEnv("OPENWRT_PPA_LISTEN", "127.0.0.1:8080"), "address to listen on (env OPENWRT_PPA_LISTEN)")
	fl.Usage = func() {
		fmt.Fprintln(stderr, "usage: openwrt-ppa serve [--data DIR] [--listen ADDR]")
		fmt.Fprintln(stderr, "\nServes the package feeds in DIR/feeds at the URL root: GET and HEAD, ranges, conditional")
		fmt.Fprintln(stderr, "requests and a plain folder page. Stops cleanly on SIGINT or SIGTERM.")
		fmt.Fprintln(stderr, "\nflags:")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fl.NArg() != 0 {
		fmt.Fprintln(stderr, "openwrt-ppa serve: unexpected arguments; see --help")
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	root := filepath.Join(*data, "feeds")
	if err := os.MkdirAll(root, 0o755); err != nil {
		fmt.Fprintf(stderr, "openwrt-ppa serve: creating %s: %v (check --data)\n", root, err)
		return 1
	}
	h, err := feeds.NewHandler(root, log)
	if err != nil {
		fmt.Fprintf(stderr, "openwrt-ppa serve: %v\n", err)
		return 1
	}
	defer h.Close()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "openwrt-ppa serve: %v (choose another --listen address)\n", err)
		return 1
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	fmt.Fprintf(stdout, "serving %s on http://%s/\n", root, ln.Addr())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		fmt.Fprintf(stderr, "openwrt-ppa serve: %v\n", err)
		return 1
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		fmt.Fprintf(stderr, "openwrt-ppa serve: stopping: %v\n", err)
		return 1
	}
	return 0
}

func serveEnv(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
