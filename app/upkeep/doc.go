// Package upkeep is the janitor: it tidies behind the other stages on a timer. It removes the
// feeds of pull requests closed longer than their time to live, package files superseded past
// their grace period, build logs beyond the newest of each ref, kept artifacts and webhook events
// past their retention; and Reconcile queues again every pending job a crash left unqueued and
// hands back the embedded queue's leases of the previous run.
package upkeep
