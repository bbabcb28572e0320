package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// runGitLabSecrets registers, lists and removes the per-project and per-group GitLab webhook
// secrets, in the store the service flags name (as the admin API does on a running service).
func runGitLabSecrets(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var group bool
	var note string
	var id int64
	parseID := func(args []string) error {
		var err error
		if id, err = strconv.ParseInt(args[0], 10, 64); err != nil || id <= 0 {
			return fmt.Errorf("%q is no id: give the number (GitLab shows a project's id on its page, list a registration's)", args[0])
		}
		return nil
	}
	cmd := storeCommand{name: "gitlab-secrets",
		about: []string{
			"add makes a new secret for GitLab project ID (--group: group ID and its subgroups) and prints",
			"it once: put it in that project's or group's webhook as its secret token. The store keeps its",
			"SHA-256 only. list shows the registrations; remove revokes one.",
		},
		actions: []storeAction{
			{name: "add", synopsis: "[--group] [--note TEXT] ID", nargs: 1, check: parseID, flags: func(fl *flag.FlagSet) {
				fl.BoolVar(&group, "group", false, "ID is a group's: the secret speaks for every project in it and its subgroups")
				fl.StringVar(&note, "note", "", "what the secret is for (shown by list)")
			}},
			{name: "list", reads: true},
			{name: "remove", synopsis: "REGISTRATION-ID", nargs: 1, check: parseID, reads: true},
		},
	}
	action, rt, _, code, ok := cmd.open(ctx, args, stderr)
	if !ok {
		return code
	}
	defer rt.Close()
	verb := action.name
	switch verb {
	case "add":
		kind := store.ScopeProject
		if group {
			kind = store.ScopeGroup
		}
		secret, reg := store.NewWebhookSecret("gitlab", kind, id, note, "command line")
		reg, err := rt.Store.AddWebhookSecret(ctx, reg)
		if err != nil {
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
