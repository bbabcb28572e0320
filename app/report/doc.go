// Package report tells the forge how a job goes: its check run (queued, building, its final
// state with the package table and the feed line), and keeps the build's status derived from
// its jobs. A forge that does not answer never stops a build: the next report tries again, and
// a final one is tried a few times. Links to the service's pages are made here too, so every
// check points at the same URLs the web UI serves.
package report
