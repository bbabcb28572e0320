// Command openwrt-ppa is the one binary of OpenWrt PPA: the service (serve, worker) and the tools
// around it (build, keygen, index, keys, version). This package holds flags and wiring only.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync/atomic"
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
		{"build", "build the packages of a git repository or a folder into a signed feed", runBuild},
		{"keygen", "create a usign signing key pair", runKeygen},
		{"index", "write the opkg index files (Packages, Packages.gz, index.json, …) of a folder", runIndex},
		{"keys", "export or import the per-repository signing keys", runKeys},
		{"gitlab-secrets", "register, list or remove per-project GitLab webhook secrets", runGitLabSecrets},
		{"repos", "add, list or remove repositories by git URL on a running service", runRepos},
		{"version", "print the version", runVersion},
	}
}

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	// Every way to be stopped but SIGKILL ends in the same place: ctx is canceled, the command
	// removes its containers and folders, and the process exits with 128+signal, as shells do.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	// A write to a closed pipe (`openwrt-ppa build … | head`) would kill the process before its
	// clean-up; with SIGPIPE notified the write fails with EPIPE instead, and cancels (below).
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	var stoppedBy atomic.Value
	go func() {
		s := <-sigs
		stoppedBy.Store(s)
		fmt.Fprintf(os.Stderr, "openwrt-ppa: %v: stopping, cleaning up\n", s)
		cancel(fmt.Errorf("stopped by %v", s))
	}()
	code := dispatch(ctx, os.Args[1:], pipeWriter{os.Stdout, cancel}, pipeWriter{os.Stderr, cancel})
	if s, ok := stoppedBy.Load().(syscall.Signal); ok && !stopsBySignal(os.Args[1:]) {
		code = 128 + int(s)
	}
	os.Exit(code)
}

// stopsBySignal says whether the command is a service that a signal stops in the normal way
// (an init system's SIGTERM): a clean shutdown of serve or worker exits 0, not 128+signal.
func stopsBySignal(args []string) bool {
	return len(args) > 0 && (args[0] == "serve" || args[0] == "worker")
}

// errOutputClosed cancels a command whose reader has gone away (`| head`).
var errOutputClosed = errors.New("the output's reader has gone away")

// pipeWriter cancels the command when what reads its output has closed the pipe: nobody is left
// to see it go on.
type pipeWriter struct {
	w      io.Writer
	cancel context.CancelCauseFunc
}

func (p pipeWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	if errors.Is(err, syscall.EPIPE) {
		p.cancel(errOutputClosed)
	}
	return n, err
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
	width := 0
	for _, c := range commands() {
		width = max(width, len(c.name))
	}
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'openwrt-ppa COMMAND --help' for a command's flags.")
}
