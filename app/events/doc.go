// Package events is where a webhook's work begins. The Inbox stores each verified forge event
// before the webhook is answered (and drops replays of an old body under a new delivery id); the
// loop handles every stored event once, even with several replicas, retrying those the forge
// could not serve for an hour. Per kind it registers or disables repositories, turns pushes,
// tags, pull requests, `/rebuild` comments and re-runs into a build of the configuration's
// matrix, reuses identical jobs' results, cancels what a newer build replaces, queues the rest
// and reports each job's first check; deleted refs and closed pull requests take their feeds.
package events
