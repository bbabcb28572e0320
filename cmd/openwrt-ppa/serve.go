package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"

	"github.com/openwrt-ppa/openwrt-ppa/app"
)

// runServe runs the whole service in this process: webhooks, the event loop, feeds, pages and
// API, and (unless --workers 0) build jobs on the local Docker engine.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, code, ok := parseServiceFlags("serve", args, stderr,
		"usage: openwrt-ppa serve [flags]",
		"Runs OpenWrt PPA: webhooks at /webhooks/github and /webhooks/gitlab, feeds at the URL root,",
		"the web UI and the JSON API (/api/v1), /healthz, /readyz and /metrics, and build jobs on the",
		"local Docker engine. Without --redis everything lives in DIR/db.sqlite: no other server is",
		"needed. Every flag can also be set with the environment variable named in its description;",
		"secrets can come from a file named by the variable plus _FILE.")
	if !ok {
		return code
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	rt, err := app.Open(ctx, cfg, log)
	if err != nil {
		fmt.Fprintf(stderr, "openwrt-ppa serve: %v\n", err)
		return 1
	}
	defer rt.Close()
	// Without a Docker engine the service is still useful: it accepts webhooks and serves feeds;
	// jobs wait in the queue, and this process keeps trying to reach an engine to run them.
	web, err := rt.Web()
	if err != nil {
		fmt.Fprintf(stderr, "openwrt-ppa serve: %v\n", err)
		return 1
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		fmt.Fprintf(stderr, "openwrt-ppa serve: %v (choose another --listen address)\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "serving on http://%s/ (data in %s)\n", ln.Addr(), cfg.Data)
	if err := rt.Serve(ctx, ln, web); err != nil {
		fmt.Fprintf(stderr, "openwrt-ppa serve: %v\n", err)
		return 1
	}
	return 0
}

// parseServiceFlags parses the flags and environment shared by serve and worker.
func parseServiceFlags(name string, args []string, stderr io.Writer, usage ...string) (app.Config, int, bool) {
	cfg, _, code, ok := parseServiceFlagsWith(name, args, stderr, nil, 0, usage...)
	return cfg, code, ok
}

// parseServiceFlagsWith also registers a command's own flags (extra) and accepts nargs
// positional arguments, which it returns.
func parseServiceFlagsWith(name string, args []string, stderr io.Writer, extra func(*flag.FlagSet), nargs int, usage ...string) (app.Config, []string, int, bool) {
	return parseSettings(name, args, stderr, extra, nargs, nil, usage...)
}

// parseSettings is parseServiceFlagsWith for a command that takes only the settings named (nil:
// every one).
func parseSettings(name string, args []string, stderr io.Writer, extra func(*flag.FlagSet), nargs int, names []string, usage ...string) (app.Config, []string, int, bool) {
	fl := commandFlags(name, stderr, usage...)
	if extra != nil {
		extra(fl)
	}
	var cfg app.Config
	var err error
	if names == nil {
		err = cfg.Parse(fl, args, os.LookupEnv)
	} else {
		err = cfg.ParseOnly(fl, args, os.LookupEnv, names...)
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, nil, 0, false
		}
		fmt.Fprintf(stderr, "openwrt-ppa %s: %v\n", name, err)
		return cfg, nil, 2, false
	}
	if fl.NArg() != nargs {
		fmt.Fprintf(stderr, "openwrt-ppa %s: want %d arguments, got %q; see --help\n", name, nargs, fl.Args())
		return cfg, nil, 2, false
	}
	return cfg, fl.Args(), 0, true
}
