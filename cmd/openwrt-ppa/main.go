// Command openwrt-ppa is the one binary of OpenWrt PPA: the service (serve, worker) and the tools
// around it (build, keygen, index, keys, version). This package holds flags and wiring only.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// command is one subcommand. run returns the process exit status; it reports its own errors to
// stderr, saying what to do about them.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"serve", "run the service: webhooks, builds, feeds, web UI and API", runServe},
		{"worker", "run build jobs from a shared Redis queue (scale-out mode)", runWorker},
		{"build", "build the packages of a git repository into a signed feed", runBuild},
		{"keygen", "create a usign signing key pair", runKeygen},
		{"index", "write the opkg index files (Packages, Packages.gz, index.json, …) of a folder", runIndex},
		{"keys", "export or import the per-repository signing keys", runKeys},
		{"gitlab-secrets", "register, list or remove per-project GitLab webhook secrets", runGitLabSecrets},
		{"repos", "add, list or remove repositories by git URL on a running service", runRepos},
		{"version", "print the version", runVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := dispatch(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "openwrt-ppa: unknown command %q; run 'openwrt-ppa --help' for the list of commands\n", args[0])
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: openwrt-ppa COMMAND [flags] [args]")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'openwrt-ppa COMMAND --help' for a command's flags.")
}
