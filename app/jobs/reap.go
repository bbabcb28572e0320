package jobs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// containerRemover is the optional capability of an executor to remove its containers chosen by
// their labels; the Docker executor has it.
type containerRemover interface {
	RemoveContainers(ctx context.Context, label string, remove func(labels map[string]string) bool) (int, error)
}

// jobRemover is the optional capability of an executor whose sandboxes outlive their worker and
// carry the job's id (JobSpec.JobID), so that any worker may remove them: the Kubernetes
// executor's Jobs. A worker that died leaves its Job running; the next worker to run the job
// adopts it, and a Job of a job that will not run again (it ended, was cancelled or deleted
// meanwhile) is removed here.
type jobRemover interface {
	RemoveJobsOf(ctx context.Context, remove func(jobID string) bool) (int, error)
}

// workerPIDNSLabel marks build containers with the PID namespace of the worker that made them.
// A pid means a process only within its namespace: two workers in containers that share the
// host's hostname (docker run --network host) may carry each other's pids, and one must not take
// the other's live build for an orphan.
const workerPIDNSLabel = "openwrt-ppa.worker-pidns"

// pidNamespace names this process's PID namespace ("pid:[4026531836]"), or "" where /proc does
// not tell.
func pidNamespace() string {
	ns, _ := os.Readlink("/proc/self/ns/pid")
	return ns
}

// Labels are the labels of every build container of this process: an executor puts them on
// the containers it makes, so a later worker of this host can reap them (see reapOrphans).
func Labels() map[string]string {
	return map[string]string{WorkerLabel: WorkerID(), workerPIDNSLabel: pidNamespace()}
}

// reapOrphans removes the build containers (and the jobs' workspace volumes, each a copy of the
// SDK and the build's work, which would otherwise stay for good) that worker processes of this
// host left running when they died (kill -9, a crash, the OOM killer): containers whose labels name this host, this PID
// namespace and a pid that no longer exists. A worker does it when it starts and before it runs
// a job another worker held, so a dead worker's build neither runs on until its time limit nor
// shares the cache volumes with the job's new run. Failures are logged; they never stop the
// worker.
func (w *Worker) reapOrphans(ctx context.Context) {
	if r, ok := w.exec.(jobRemover); ok {
		w.removeEndedJobs(ctx, r)
	}
	r, ok := w.exec.(containerRemover)
	if !ok {
		return
	}
	host, err := os.Hostname()
	if err != nil {
		return
	}
	ns := pidNamespace()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	n, err := r.RemoveContainers(ctx, WorkerLabel, func(l map[string]string) bool { return orphaned(host, ns, l) })
	if err != nil {
		w.log.Warn("removing build containers of dead workers", "err", err)
	}
	if n > 0 {
		w.log.Info("removed build containers of dead workers", "count", n)
	}
}

// removeEndedJobs removes the executor's sandboxes of jobs that are final or gone from the store:
// their worker died (or lost its lease) before it removed them, and nobody will adopt them.
// Those of jobs still queued or running are left to the worker that runs them next.
func (w *Worker) removeEndedJobs(ctx context.Context, r jobRemover) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	n, err := r.RemoveJobsOf(ctx, func(id string) bool { return w.jobEnded(ctx, id) })
	if err != nil {
		w.log.Warn("removing build Jobs of ended jobs", "err", err)
	}
	if n > 0 {
		w.log.Info("removed build Jobs that dead workers left", "count", n)
	}
}

// jobEnded reports whether the job of id is final or no longer exists. Any doubt (a store
// error, an id that is not the service's) keeps the sandbox.
func (w *Worker) jobEnded(ctx context.Context, id string) bool {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return false
	}
	j, err := w.store.Job(ctx, n)
	if errors.Is(err, store.ErrNotFound) {
		return true
	}
	return err == nil && j.Status.Final()
}

// orphaned reports whether a container with labels was made by a worker of host in PID
// namespace ns that no longer runs. Containers without the namespace label are kept unless ns
// is unknown too.
func orphaned(host, ns string, labels map[string]string) bool {
	return labels[workerPIDNSLabel] == ns && deadWorker(host, labels[WorkerLabel])
}

// removeStaleWork removes the work folders (checkout, collected packages) that earlier attempts
// of a job left in the data dir because their worker died before its cleanup. This worker runs
// the job now; a presumed-dead worker that is only slow loses its lease and its result anyway.
func (w *Worker) removeStaleWork(jobID int64) {
	old, _ := filepath.Glob(w.data.WorkOfJob(jobID))
	for _, d := range old {
		if err := os.RemoveAll(d); err != nil {
			w.log.Warn("removing the work folder of an earlier attempt", "job", jobID, "dir", d, "err", err)
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

// WorkerLabel marks every build container with the worker process that made it, so a restarted
// worker can find the containers a dead one left.
const WorkerLabel = "openwrt-ppa.worker"

// WorkerID names this process's worker: host and pid.
func WorkerID() string {
	host, _ := os.Hostname()
	return host + ":" + strconv.Itoa(os.Getpid())
}
