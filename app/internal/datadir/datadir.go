package datadir

import (
	"path/filepath"
	"strconv"

	"github.com/openwrt-ppa/openwrt-ppa/feeds"
)

// Dir is the data directory.
type Dir string

// Feeds is the root of the published feeds.
func (d Dir) Feeds() string { return filepath.Join(string(d), "feeds") }

// RepoFeeds is the folder of a repository's feeds.
func (d Dir) RepoFeeds(owner, name string) (string, error) {
	rel, err := feeds.RepoDir(owner, name)
	if err != nil {
		return "", err
	}
	return filepath.Join(d.Feeds(), filepath.FromSlash(rel)), nil
}

// Logs is the root of the build logs.
func (d Dir) Logs() string { return filepath.Join(string(d), "logs") }

// Cache holds clones, work folders, artifacts and marks.
func (d Dir) Cache() string { return filepath.Join(string(d), "cache") }

// Work is the work folder (checkout, collected packages) of one attempt of a job.
func (d Dir) Work(jobID int64, attempt int) string {
	return filepath.Join(d.Cache(), "work", strconv.FormatInt(jobID, 10)+"-"+strconv.Itoa(attempt))
}

// WorkOfJob matches the work folders of every attempt of a job.
func (d Dir) WorkOfJob(jobID int64) string {
	return filepath.Join(d.Cache(), "work", strconv.FormatInt(jobID, 10)+"-*")
}

// JobLogPath is where a job's log file lives below Logs. It is made of numbers only, so no
// outside name becomes a path.
func JobLogPath(repoID, buildID, jobID int64) string {
	return filepath.Join(strconv.FormatInt(repoID, 10), strconv.FormatInt(buildID, 10), strconv.FormatInt(jobID, 10)+".log")
}
