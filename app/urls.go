package app

import (
	"context"
	"strconv"
	"strings"

	"github.com/openwrt-ppa/openwrt-ppa/feeds"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// feedRef names the feed a job of a build publishes to.
func feedRef(repo store.Repository, ref store.Ref, series, arch string) feeds.FeedRef {
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

// repoPath is a repository's URL path below the root: /<owner>/<repo>.
func repoPath(repo store.Repository) string {
	return "/" + OwnerSegment(repo.Owner) + "/" + repo.Name
}

func (s *Service) buildURL(repo store.Repository, buildID int64) string {
	return s.cfg.BaseURL() + repoPath(repo) + "/-/builds/" + strconv.FormatInt(buildID, 10)
}

func (s *Service) logURL(repo store.Repository, buildID, jobID int64) string {
	return s.buildURL(repo, buildID) + "#job-" + strconv.FormatInt(jobID, 10)
}

// feedURL is the public URL of a feed, or "" when the names cannot make one (refused earlier).
func (s *Service) feedURL(repo store.Repository, ref store.Ref, series, arch string) string {
	fr := feedRef(repo, ref, series, arch)
	p, err := fr.URLPath()
	if err != nil {
		return ""
	}
	// URLPath lower-cases owner and repository (the folder's spelling); links use the forge's.
	return s.cfg.BaseURL() + repoPath(repo) + p[len(repoPath(repo)):]
}

func trimSlash(u string) string { return strings.TrimRight(u, "/") }

// queuePosition returns the queue's depth and the job's place in it.
func (s *Service) queuePosition(ctx context.Context, jobID int64) (depth, pos int, ok bool) {
	depth, err := s.queue.Len(ctx)
	if err != nil {
		return 0, 0, false
	}
	pos, err = s.queue.Position(ctx, strconv.FormatInt(jobID, 10))
	if err != nil {
		return 0, 0, false
	}
	return depth, pos, true
}
