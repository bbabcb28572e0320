package app

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// containerRemover is the optional capability of an executor to remove its containers by a
// label's value; the Docker executor has it.
type containerRemover interface {
	RemoveContainers(ctx context.Context, label string, remove func(value string) bool) (int, error)
}

// reapOrphans removes the build containers that worker processes of this host left running when
// they died (kill -9, a crash, the OOM killer): containers whose WorkerLabel names this host and
// a pid that no longer exists. A worker does it when it starts and before it runs a job another
// worker held, so a dead worker's build neither runs on until its time limit nor shares the
// cache volumes with the job's new run. Failures are logged; they never stop the worker.
func (w *Worker) reapOrphans(ctx context.Context) {
	r, ok := w.exec.(containerRemover)
	if !ok {
		return
	}
	host, err := os.Hostname()
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	n, err := r.RemoveContainers(ctx, WorkerLabel, func(id string) bool { return deadWorker(host, id) })
	if err != nil {
		w.svc.log.Warn("removing build containers of dead workers", "err", err)
	}
	if n > 0 {
		w.svc.log.Info("removed build containers of dead workers", "count", n)
	}
}

// removeStaleWork removes the work folders (checkout, collected packages) that earlier attempts
// of a job left in the data dir because their worker died before its cleanup. This worker runs
// the job now; a presumed-dead worker that is only slow loses its lease and its result anyway.
func (w *Worker) removeStaleWork(jobID int64) {
	old, _ := filepath.Glob(filepath.Join(w.svc.cachePath(), "work", strconv.FormatInt(jobID, 10)+"-*"))
	for _, d := range old {
		if err := os.RemoveAll(d); err != nil {
			w.svc.log.Warn("removing the work folder of an earlier attempt", "job", jobID, "dir", d, "err", err)
		}
	}
}

// deadWorker reports whether id, a WorkerID ("host:pid"), names a process of host that no longer
// exists. A process of another user still exists (EPERM); a pid taken again by a new process
// looks alive, which only delays the removal.
func deadWorker(host, id string) bool {
	i := strings.LastIndexByte(id, ':')
	if i < 0 || id[:i] != host {
		return false
	}
	pid, err := strconv.Atoi(id[i+1:])
	if err != nil || pid <= 0 || pid == os.Getpid() {
		return false
	}
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
