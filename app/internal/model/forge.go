package model

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// Forges are the configured forge clients by name.
type Forges map[forge.Name]forge.Forge

// Get returns the named forge, or an error that says how to configure it.
func (fs Forges) Get(name forge.Name) (forge.Forge, error) {
	f, ok := fs[name]
	if !ok {
		return nil, fmt.Errorf("no %s forge is configured: set its OPENWRT_PPA_%s_* settings", name, strings.ToUpper(string(name)))
	}
	return f, nil
}

// ForgeRepo is the forge's view of a stored repository.
func ForgeRepo(r store.Repository) forge.Repo {
	id, _ := strconv.ParseInt(r.ForgeID, 10, 64)
	return forge.Repo{Forge: forge.Name(r.Forge), ID: id, Owner: r.Owner, Name: r.Name,
		DefaultBranch: r.DefaultBranch, Private: r.Private, Installation: r.InstallationID}
}

// CheckState is the forge check state of a job status.
func CheckState(s store.Status) forge.CheckState {
	switch s {
	case store.StatusQueued:
		return forge.CheckQueued
	case store.StatusRunning:
		return forge.CheckInProgress
	case store.StatusSuccess, store.StatusSkipped:
		return forge.CheckSuccess
	case store.StatusCancelled:
		return forge.CheckCancelled
	case store.StatusTimedOut:
		return forge.CheckTimedOut
	}
	return forge.CheckFailure
}

// CheckName is the name of a job's check: one per series and arch.
func CheckName(j *store.Job) string { return "openwrt-ppa: " + j.Series + "/" + j.Arch }

// GitRef is the full git ref a build's statuses attach to on GitLab.
func GitRef(ref store.Ref) string {
	switch ref.Kind {
	case store.RefBranch:
		return "refs/heads/" + ref.Name
	case store.RefTag:
		return "refs/tags/" + ref.Name
	}
	return ""
}

// FeedRef names the feed a job of a build publishes to.
func FeedRef(repo store.Repository, ref store.Ref, series, arch string) feeds.FeedRef {
	fr := feeds.FeedRef{Owner: repo.Owner, Repo: repo.Name, Name: ref.Name, Series: series, Arch: arch}
	switch ref.Kind {
	case store.RefTag:
		fr.Kind = feeds.TagFeed
	case store.RefPR:
		fr.Kind = feeds.PullRequest
	default:
		fr.Kind = feeds.BranchFeed
	}
	return fr
}

// QueueID is a job's id in the queue.
func QueueID(jobID int64) string { return strconv.FormatInt(jobID, 10) }

// Short is the first ten digits of a commit, for messages.
func Short(sha string) string {
	if len(sha) > 10 {
		return sha[:10]
	}
	return sha
}
