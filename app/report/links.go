package report

import (
	"strconv"
	"strings"

	"github.com/openwrt-ppa/openwrt-ppa/app/internal/model"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// ownerSegment is the URL form of an owner: a GitLab namespace's "/" becomes "~".
func ownerSegment(owner string) string { return strings.ReplaceAll(owner, "/", "~") }

// repoPath is a repository's URL path below the root: /<owner>/<repo>.
func repoPath(repo store.Repository) string {
	return "/" + ownerSegment(repo.Owner) + "/" + repo.Name
}

// BuildURL is the page of a build.
func (r *Reporter) BuildURL(repo store.Repository, buildID int64) string {
	return r.BaseURL + repoPath(repo) + "/-/builds/" + strconv.FormatInt(buildID, 10)
}

// LogURL is a job's log on its build's page.
func (r *Reporter) LogURL(repo store.Repository, buildID, jobID int64) string {
	return r.BuildURL(repo, buildID) + "#job-" + strconv.FormatInt(jobID, 10)
}

// FeedURL is the public URL of a feed, or "" when the names cannot make one (refused earlier).
func (r *Reporter) FeedURL(repo store.Repository, ref store.Ref, series, arch string) string {
	fr := model.FeedRef(repo, ref, series, arch)
	p, err := fr.URLPath()
	if err != nil {
		return ""
	}
	// URLPath lower-cases owner and repository (the folder's spelling); links use the forge's.
	return r.BaseURL + repoPath(repo) + p[len(repoPath(repo)):]
}

func trimSlash(u string) string { return strings.TrimRight(u, "/") }
