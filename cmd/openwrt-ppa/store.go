package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/openwrt-ppa/openwrt-ppa/app"
)

// storeAction is one action of a command that works on the service's store (keys export, …).
type storeAction struct {
	name     string
	synopsis string // its own flags and arguments, for the usage line: "[--out FILE]"
	nargs    int
	flags    func(*flag.FlagSet)       // registers its own flags; nil: none
	check    func(args []string) error // checks the arguments before the store is opened; nil: none
	// reads says the action only reads the store: a --data with no store is a mistake, never a
	// new empty store made there.
	reads bool
}

// storeCommand is a command of the form NAME ACTION [store flags] [flags] ARGS: keys and
// gitlab-secrets. It owns the usage text, the choice of action and the store flags.
type storeCommand struct {
	name    string
	about   []string // what the command does, after the usage lines
	actions []storeAction
}

const storeFlagsHelp = "The store flags (--data DIR; with --redis URL also --key-encryption-key) say where the store\n" +
	"is, as for serve, and may come from the same environment variables."

func (sc storeCommand) usage(w io.Writer) {
	for i, a := range sc.actions {
		lead := "usage:"
		if i > 0 {
			lead = "      "
		}
		fmt.Fprintf(w, "%s openwrt-ppa %s %s [store flags] %s\n", lead, sc.name, a.name, a.synopsis)
	}
	fmt.Fprintln(w)
	for _, l := range sc.about {
		fmt.Fprintln(w, l)
	}
	fmt.Fprintln(w, storeFlagsHelp)
	fmt.Fprintf(w, "Run 'openwrt-ppa %s ACTION --help' for an action's flags.\n", sc.name)
}

// open picks the action of args, parses its flags and opens the store. When the command must not
// go on it returns ok false and the exit status, having said why.
func (sc storeCommand) open(ctx context.Context, args []string, stderr io.Writer) (a storeAction, rt *app.Runtime, rest []string, code int, ok bool) {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		sc.usage(stderr)
		if len(args) == 0 {
			return a, nil, nil, 2, false
		}
		return a, nil, nil, 0, false
	}
	var names []string
	for _, c := range sc.actions {
		names = append(names, c.name)
		if c.name == args[0] {
			a = c
		}
	}
	if a.name == "" {
		fmt.Fprintf(stderr, "openwrt-ppa %s: unknown action %q: use one of %s\n\n", sc.name, args[0], strings.Join(names, ", "))
		sc.usage(stderr)
		return a, nil, nil, 2, false
	}
	full := sc.name + " " + a.name
	cfg, rest, code, ok := parseSettings(full, args[1:], stderr, a.flags, a.nargs, app.StoreSettings,
		"usage: openwrt-ppa "+full+" [store flags] "+a.synopsis, "\n"+storeFlagsHelp)
	if !ok {
		return a, nil, nil, code, false
	}
	if a.check != nil {
		if err := a.check(rest); err != nil {
			fmt.Fprintf(stderr, "openwrt-ppa %s: %v\n", full, err)
			return a, nil, nil, 2, false
		}
	}
	if a.reads && cfg.Redis == "" {
		db := filepath.Join(cfg.Data, "db.sqlite")
		if _, err := os.Stat(db); errors.Is(err, fs.ErrNotExist) {
			abs, _ := filepath.Abs(cfg.Data)
			fmt.Fprintf(stderr, "openwrt-ppa %s: no store at --data %s (%s does not exist): give --data the folder serve uses, or set %s\n",
				full, cfg.Data, filepath.Join(abs, "db.sqlite"), app.EnvName("data"))
			return a, nil, nil, 2, false
		}
	}
	rt, err := app.Open(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		fmt.Fprintf(stderr, "openwrt-ppa %s: %v\n", full, err)
		return a, nil, nil, 1, false
	}
	return a, rt, rest, 0, true
}
