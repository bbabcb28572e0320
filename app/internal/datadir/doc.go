// Package datadir is the layout of the data directory (--data) that the stages share: where
// build logs, work folders, kept artifacts and the marks of closed pull requests live. Every
// path is made of numbers and checked content keys, so no outside name ever becomes a path. In
// Redis mode every process shares the folder, so any replica finds what another left.
package datadir
