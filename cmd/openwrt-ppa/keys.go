package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
)

// runKeys backs up and restores the per-repository signing keys: losing them breaks every router
// that trusts them.
func runKeys(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var out string
	var replace bool
	cmd := storeCommand{name: "keys",
		about: []string{
			"export writes every repository's signing keys (secret halves included: keep the file",
			"safe) as JSON; import installs them, registering repositories the store does not know.",
		},
		actions: []storeAction{
			{name: "export", synopsis: "[--out FILE]", reads: true, flags: func(fl *flag.FlagSet) {
				fl.StringVar(&out, "out", "", "write the backup to this new file (mode 0600) instead of standard output")
			}},
			{name: "import", synopsis: "[--replace] FILE", nargs: 1, flags: func(fl *flag.FlagSet) {
				fl.BoolVar(&replace, "replace", false, "overwrite a repository's different existing key (routers trusting it break)")
			}},
		},
	}
	action, rt, rest, code, ok := cmd.open(ctx, args, stderr)
	if !ok {
		return code
	}
	defer rt.Close()
	verb := action.name
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
