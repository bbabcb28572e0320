package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/app"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// runGitLabSecrets registers, lists and removes the per-project and per-group GitLab webhook
// secrets, in the store the service flags name (as the admin API does on a running service).
func runGitLabSecrets(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	usage := func() {
		fmt.Fprintln(stderr, "usage: openwrt-ppa gitlab-secrets add [service flags] [--group] [--note TEXT] ID")
		fmt.Fprintln(stderr, "       openwrt-ppa gitlab-secrets list [service flags]")
		fmt.Fprintln(stderr, "       openwrt-ppa gitlab-secrets remove [service flags] REGISTRATION-ID")
		fmt.Fprintln(stderr, "\nadd makes a new secret for GitLab project ID (--group: group ID and its subgroups) and prints")
		fmt.Fprintln(stderr, "it once: put it in that project's or group's webhook as its secret token. The store keeps its")
		fmt.Fprintln(stderr, "SHA-256 only. The service flags (--data, --redis, …) say where the store is, as for serve.")
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		usage()
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	verb := args[0]
	nargs := map[string]int{"add": 1, "list": 0, "remove": 1}
	n, known := nargs[verb]
	if !known {
		fmt.Fprintf(stderr, "openwrt-ppa gitlab-secrets: unknown action %q\n", verb)
		usage()
		return 2
	}
	var group bool
	var note string
	want := map[string]string{"add": " ID", "list": "", "remove": " REGISTRATION-ID"}[verb]
	cfg, rest, code, ok := parseServiceFlagsWith("gitlab-secrets "+verb, args[1:], stderr, func(fl *flag.FlagSet) {
		if verb == "add" {
			fl.BoolVar(&group, "group", false, "ID is a group's: the secret speaks for every project in it and its subgroups")
			fl.StringVar(&note, "note", "", "what the secret is for (shown by list)")
		}
	}, n, "usage: openwrt-ppa gitlab-secrets "+verb+" [flags]"+want)
	if !ok {
		return code
	}
	var id int64
	if n == 1 {
		var err error
		if id, err = strconv.ParseInt(rest[0], 10, 64); err != nil || id <= 0 {
			fmt.Fprintf(stderr, "openwrt-ppa gitlab-secrets %s: %q is no id: give the number (GitLab shows a project's id on its page)\n", verb, rest[0])
			return 2
		}
	}
	rt, err := app.Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		fmt.Fprintf(stderr, "openwrt-ppa gitlab-secrets: %v\n", err)
		return 1
	}
	defer rt.Close()
	switch verb {
	case "add":
		kind := store.ScopeProject
		if group {
			kind = store.ScopeGroup
		}
		secret, reg := store.NewWebhookSecret("gitlab", kind, id, note, "command line")
		if reg, err = rt.Store.AddWebhookSecret(ctx, reg); err != nil {
			fmt.Fprintf(stderr, "openwrt-ppa gitlab-secrets add: %v\n", err)
			return 1
		}
		fmt.Fprintf(stderr, "registration %d: GitLab %s %d; the secret is shown this once:\n", reg.ID, kind, id)
		fmt.Fprintln(stdout, secret)
	case "list":
		regs, err := rt.Store.ListWebhookSecrets(ctx, "gitlab")
		if err != nil {
			fmt.Fprintf(stderr, "openwrt-ppa gitlab-secrets list: %v\n", err)
			return 1
		}
		for _, r := range regs {
			fmt.Fprintf(stdout, "%d\t%s %d\t%s\t%s\t%s\n", r.ID, r.ScopeKind, r.ScopeID, r.Created.UTC().Format(time.RFC3339), r.CreatedBy, r.Note)
		}
	case "remove":
		if err := rt.Store.DeleteWebhookSecret(ctx, id); err != nil {
			fmt.Fprintf(stderr, "openwrt-ppa gitlab-secrets remove: %v (list shows the registrations)\n", err)
			return 1
		}
		fmt.Fprintf(stderr, "removed registration %d: deliveries carrying its secret are refused from now on\n", id)
	}
	return 0
}
