// Package publish puts a job's built packages into the feeds: the feed of the build's ref
// (packages the repository no longer defines leave it, a failed package keeps its last good
// version), and for the newest tag the repository's `latest` feed. It enforces the repository's
// disk quota and measures its feeds. FeedStore is the production Feeds: the feeds folder, signed
// with the repository's main or preview key, every write under the ref's lock.
package publish
