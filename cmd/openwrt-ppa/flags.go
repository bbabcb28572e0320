package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// commandFlags is a command's flag set: mistakes and --help go to stderr, --help shows the usage
// lines and then the flags.
func commandFlags(name string, stderr io.Writer, usage ...string) *flag.FlagSet {
	fl := flag.NewFlagSet(name, flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() {
		for _, l := range usage {
			fmt.Fprintln(stderr, l)
		}
		fmt.Fprintln(stderr, "\nflags:")
		fl.PrintDefaults()
	}
	return fl
}

// parseFlags parses args and checks that nargs arguments remain (-1: any number). When the
// command must not go on it returns false and the exit status: 0 after --help, 2 after a
// mistake, which it has explained (wantArgs says what the arguments should be).
func parseFlags(fl *flag.FlagSet, args []string, nargs int, stderr io.Writer, wantArgs string) (int, bool) {
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 2, false
	}
	if nargs >= 0 && fl.NArg() != nargs {
		fmt.Fprintf(stderr, "openwrt-ppa %s: %s (see --help)\n", fl.Name(), wantArgs)
		return 2, false
	}
	return 0, true
}
