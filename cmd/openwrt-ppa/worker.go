package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/openwrt-ppa/openwrt-ppa/app"
)

// runWorker runs build jobs from the shared Redis queue on this host's Docker engine.
func runWorker(ctx context.Context, args []string, _, stderr io.Writer) int {
	cfg, _, code, ok := parseSettings("worker", args, stderr, nil, 0, app.WorkerSettings(),
		"usage: openwrt-ppa worker --redis URL --data DIR [flags]",
		"Runs build jobs from the Redis queue that `openwrt-ppa serve --redis URL` fills, on this",
		"host's Docker engine, and publishes into DIR/feeds, which must be the same shared folder",
		"(NFS, a ReadWriteMany volume) every serve and worker uses. A job whose worker dies is taken",
		"by another after --visibility-timeout. Stops on SIGTERM after running jobs finish or",
		"--shutdown-grace passes (then they go back to the queue).")
	if !ok {
		return code
	}
	if cfg.Redis == "" {
		fmt.Fprintln(stderr, "openwrt-ppa worker: --redis is required: a worker takes jobs from the shared Redis queue (without Redis, `openwrt-ppa serve` runs the jobs itself)")
		return 2
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 1
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	rt, err := app.Open(ctx, cfg, log)
	if err != nil {
		fmt.Fprintf(stderr, "openwrt-ppa worker: %v\n", err)
		return 1
	}
	defer rt.Close()
	if err := rt.OpenExecutor(ctx); err != nil {
		fmt.Fprintf(stderr, "openwrt-ppa worker: %v\n", err)
		return 1
	}
	w, err := app.NewWorker(rt.Service, app.WorkerDeps{Executor: rt.Executor, Logs: rt.Logs, ID: app.WorkerID()})
	if err != nil {
		fmt.Fprintf(stderr, "openwrt-ppa worker: %v\n", err)
		return 1
	}
	log.Info("worker started", "id", app.WorkerID(), "slots", cfg.Workers)
	w.Run(ctx)
	return 0
}
