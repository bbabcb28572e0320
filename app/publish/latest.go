package publish

import (
	"context"
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/openwrt-ppa/openwrt-ppa/app/internal/model"
	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// tagPublished reports whether a tag still has its feeds (a deleted tag's are removed).
func (s *Publisher) tagPublished(repo store.Repository, tag string) bool {
	fr := feeds.FeedRef{Owner: repo.Owner, Repo: repo.Name, Kind: feeds.TagFeed, Name: tag, Series: "x", Arch: "x"}
	dir, err := fr.Dir()
	if err != nil {
		return false
	}
	_, err = os.Stat(filepath.Join(s.Data.Feeds(), filepath.FromSlash(path.Dir(path.Dir(dir)))))
	return err == nil
}

// RefreshLatest makes the latest feed hold the newest remaining tag again (after that tag's
// deletion): it is emptied, then filled from the kept packages of that tag's jobs.
func (s *Publisher) RefreshLatest(ctx context.Context, repo store.Repository) error {
	latest := feeds.FeedRef{Owner: repo.Owner, Repo: repo.Name, Kind: feeds.LatestFeed}
	if err := s.Feeds.RemoveRef(ctx, latest); err != nil {
		return err
	}
	tag, err := s.newestTag(ctx, repo)
	if err != nil || tag == "" {
		return err
	}
	b, err := s.Store.LatestBuild(ctx, repo.ID, store.Ref{Kind: store.RefTag, Name: tag})
	if err != nil {
		return err
	}
	jobs, err := s.Store.JobsOfBuild(ctx, b.ID)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		var res model.Result
		if j.Status != store.StatusSuccess || json.Unmarshal(j.Result, &res) != nil || res.Artifacts == "" {
			continue
		}
		files, err := s.Data.ArtifactFiles(res.Artifacts)
		if err != nil || len(files) == 0 {
			continue
		}
		latest.Series, latest.Arch = j.Series, j.Arch
		if _, err := s.mirror(ctx, repo, latest, files, nil, IndexOf(res.Format, res.IndexJSON)); err != nil {
			return err
		}
	}
	return nil
}

// newestTag is the repository's newest successfully built tag: by semantic version when tags
// are versions, else by build date. It is what the "latest" feed holds.
func (s *Publisher) newestTag(ctx context.Context, repo store.Repository, publishing ...store.Build) (string, error) {
	builds, err := s.Store.LatestBuilds(ctx, repo.ID)
	if err != nil {
		return "", err
	}
	var best store.Build
	for _, b := range builds {
		current := len(publishing) > 0 && b.ID == publishing[0].ID // the build publishing now counts
		if b.Ref.Kind != store.RefTag || (!current && (b.Status != store.StatusSuccess || !s.tagPublished(repo, b.Ref.Name))) {
			continue
		}
		if best.ID == 0 || tagNewer(b, best) {
			best = b
		}
	}
	return best.Ref.Name, nil
}

// tagNewer orders tags by semantic version when both are versions, else by build id (date).
func tagNewer(a, b store.Build) bool {
	va, aok := parseSemver(a.Ref.Name)
	vb, bok := parseSemver(b.Ref.Name)
	if aok && bok {
		if c := compareSemver(va, vb); c != 0 {
			return c > 0
		}
	} else if aok != bok {
		return aok // a version beats a non-version name
	}
	return a.ID > b.ID
}

type semver struct {
	nums []int
	pre  string
}

// parseSemver reads "v1.2.3", "1.2", "v2.0.0-rc1"; build metadata after "+" is ignored.
func parseSemver(tag string) (semver, bool) {
	t := strings.TrimPrefix(strings.TrimPrefix(tag, "v"), "V")
	t, _, _ = strings.Cut(t, "+")
	core, pre, _ := strings.Cut(t, "-")
	parts := strings.Split(core, ".")
	if len(parts) == 0 || len(parts) > 4 {
		return semver{}, false
	}
	v := semver{pre: pre}
	for _, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return semver{}, false
		}
		v.nums = append(v.nums, n)
	}
	return v, true
}

func compareSemver(a, b semver) int {
	for i := 0; i < max(len(a.nums), len(b.nums)); i++ {
		var x, y int
		if i < len(a.nums) {
			x = a.nums[i]
		}
		if i < len(b.nums) {
			y = b.nums[i]
		}
		if x != y {
			if x > y {
				return 1
			}
			return -1
		}
	}
	switch {
	case a.pre == b.pre:
		return 0
	case a.pre == "": // a release is newer than its pre-releases
		return 1
	case b.pre == "":
		return -1
	case a.pre > b.pre:
		return 1
	}
	return -1
}
