package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/openwrt-ppa/openwrt-ppa/app"
)

// runKeys backs up and restores the per-repository signing keys: losing them breaks every router
// that trusts them.
func runKeys(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	usage := func() {
		fmt.Fprintln(stderr, "usage: openwrt-ppa keys export [service flags] [--out FILE]")
		fmt.Fprintln(stderr, "       openwrt-ppa keys import [service flags] [--replace] FILE")
		fmt.Fprintln(stderr, "\nexport writes every repository's signing keys (secret halves included: keep the file")
		fmt.Fprintln(stderr, "safe) as JSON; import installs them, registering repositories the store does not know.")
		fmt.Fprintln(stderr, "The service flags (--data, --redis, …) say where the keys live, as for serve.")
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		usage()
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	verb := args[0]
	if verb != "export" && verb != "import" {
		fmt.Fprintf(stderr, "openwrt-ppa keys: unknown action %q\n", verb)
		usage()
		return 2
	}
	var out string
	var replace bool
	nargs := 0
	if verb == "import" {
		nargs = 1
	}
	cfg, rest, code, ok := parseServiceFlagsWith("keys "+verb, args[1:], stderr, func(fl *flag.FlagSet) {
		if verb == "export" {
			fl.StringVar(&out, "out", "", "write the backup to this new file (mode 0600) instead of standard output")
		} else {
			fl.BoolVar(&replace, "replace", false, "overwrite a repository's different existing key (routers trusting it break)")
		}
	}, nargs, "usage: openwrt-ppa keys "+verb+" [flags]"+map[bool]string{true: " FILE", false: ""}[verb == "import"])
	if !ok {
		return code
	}
	rt, err := app.Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		fmt.Fprintf(stderr, "openwrt-ppa keys: %v\n", err)
		return 1
	}
	defer rt.Close()
	if verb == "export" {
		w := stdout
		if out != "" {
			f, err := os.OpenFile(out, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
			if err != nil {
				fmt.Fprintf(stderr, "openwrt-ppa keys export: %v (give a new file name)\n", err)
				return 1
			}
			defer f.Close()
			w = f
		}
		n, err := rt.ExportKeys(ctx, w)
		if err != nil {
			fmt.Fprintf(stderr, "openwrt-ppa keys export: %v\n", err)
			return 1
		}
		fmt.Fprintf(stderr, "exported %d keys\n", n)
		return 0
	}
	f, err := os.Open(rest[0])
	if err != nil {
		fmt.Fprintf(stderr, "openwrt-ppa keys import: %v\n", err)
		return 1
	}
	defer f.Close()
	n, err := rt.ImportKeys(ctx, f, replace)
	fmt.Fprintf(stderr, "imported %d keys\n", n)
	if err != nil {
		fmt.Fprintf(stderr, "openwrt-ppa keys import: %v\n", err)
		return 1
	}
	return 0
}
