// Package jobs is the worker: it takes a job off the queue under a lease it keeps alive, checks
// out the commit (with the forge's clone credentials for a private repository, which never reach
// the container), runs the SDK container through builder, keeps the built packages by content
// key for reuse, publishes them and reports the check. The job's log goes to a file and, live, to
// the log stream build pages follow. On shutdown running jobs get a grace period, then go back
// to the queue; containers of dead workers of this host are reaped, and so are the Kubernetes Jobs
// of jobs that ended while their worker was dead.
package jobs
