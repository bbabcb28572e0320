package publish

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/openwrt-ppa/openwrt-ppa/app/internal/datadir"
	"github.com/openwrt-ppa/openwrt-ppa/app/internal/metrics"
	"github.com/openwrt-ppa/openwrt-ppa/app/internal/model"
	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// Feeds is what publishing needs of the feed storage.
type Feeds interface {
	// Publish changes the feed ref of repo and re-signs it with the key of the ref's kind.
	// Refused packages are in the result; the error means the feed was left as it was.
	Publish(ctx context.Context, repo store.Repository, ref feeds.FeedRef, req Files) (*feeds.PublishResult, error)
	// List returns the packages the feed lists now.
	List(ctx context.Context, ref feeds.FeedRef) ([]feeds.PackageInfo, error)
	// RemoveRef deletes every feed of a branch, tag or pull request (all series and archs).
	RemoveRef(ctx context.Context, ref feeds.FeedRef) error
}

// Files is one change of a feed.
type Files struct {
	Add    []string // package files to publish (.ipk, or .apk for an apk feed)
	Remove []string // package names that leave the feed
	Index
}

// Index is how a feed's index is written, as the series' SDK writes it: opkg (Packages, signed
// with the usign key) or apk (packages.adb, signed with the apk key), and the index.json version.
type Index struct {
	Format    feeds.Format
	IndexJSON int
}

// IndexOf is the index a job's packages go into: the format its series builds (builder's
// "apk" or "ipk"; "" is ipk) and the index.json version.
func IndexOf(format string, indexJSON int) Index {
	if format == builder.FormatAPK {
		return Index{Format: feeds.FormatAPK, IndexJSON: 2}
	}
	return Index{Format: feeds.FormatOPKG, IndexJSON: indexJSON}
}

// Publisher publishes jobs' packages into Feeds (nil: no feed storage, every publish fails).
type Publisher struct {
	Feeds   Feeds
	Store   store.Store
	Data    datadir.Dir
	QuotaMB int64 // disk a repository's feeds may use; 0: no limit
	Metrics *metrics.Metrics
}

// Job puts a job's packages into the feed of its build's ref. Packages the repository no longer
// defines (not in known) leave the feed; a package that failed keeps its last good version. A
// tag's packages also go to the repository's "latest" feed when the tag is its newest.
func (s *Publisher) Job(ctx context.Context, repo store.Repository, b store.Build, j *store.Job, files, known []string, ix Index) (*feeds.PublishResult, error) {
	if s.Feeds == nil {
		return nil, fmt.Errorf("no feed storage configured")
	}
	if err := s.checkQuota(repo, files); err != nil {
		return nil, err
	}
	ref := model.FeedRef(repo, b.Ref, j.Series, j.Arch)
	res, err := s.mirror(ctx, repo, ref, files, known, ix)
	defer s.measureFeeds(repo)
	if err != nil || b.Ref.Kind != store.RefTag {
		return res, err
	}
	newest, err := s.newestTag(ctx, repo, b)
	if err != nil || newest != b.Ref.Name {
		return res, err
	}
	latest := ref
	latest.Kind, latest.Name = feeds.LatestFeed, ""
	if _, err := s.mirror(ctx, repo, latest, files, nil, ix); err != nil {
		return res, fmt.Errorf("updating the latest feed: %w", err)
	}
	return res, nil
}

// mirror publishes files into ref, removing packages not in known (or, without known,
// every package the files do not bring: the latest feed is exactly its tag).
func (s *Publisher) mirror(ctx context.Context, repo store.Repository, ref feeds.FeedRef, files, known []string, ix Index) (*feeds.PublishResult, error) {
	current, err := s.Feeds.List(ctx, ref)
	if err != nil {
		return nil, err
	}
	keep := map[string]bool{}
	for _, k := range known {
		keep[k] = true
	}
	if known == nil {
		for _, f := range files {
			if name := packageOfFile(filepath.Base(f)); name != "" {
				keep[name] = true
			}
		}
	}
	var remove []string
	for _, p := range current {
		if !keep[p.Name] && !slices.Contains(remove, p.Name) {
			remove = append(remove, p.Name)
		}
	}
	return s.Feeds.Publish(ctx, repo, ref, Files{Add: files, Remove: remove, Index: ix})
}

// packageOfFile is the package name of a file the builder kept: "<name>_<version>_<arch>.ipk"
// or "<name>-<version>.apk". An apk version holds no "-" but the one before its release
// ("1.0-r1"), so the name ends at the last "-" before that.
func packageOfFile(file string) string {
	base, ok := strings.CutSuffix(file, ".apk")
	if !ok {
		name, _, _ := strings.Cut(file, "_")
		return name
	}
	if i := strings.LastIndex(base, "-r"); i > 0 && strings.Trim(base[i+2:], "0123456789") == "" && i+2 < len(base) {
		base = base[:i]
	}
	if i := strings.LastIndexByte(base, '-'); i > 0 {
		return base[:i]
	}
	return ""
}

// ErrOverQuota refuses a publish that would take a repository's feeds over its disk quota.
var ErrOverQuota = errors.New("over the repository's disk quota")

// checkQuota refuses files that would take the repository's feeds over the configured quota.
func (s *Publisher) checkQuota(repo store.Repository, files []string) error {
	if s.QuotaMB <= 0 {
		return nil
	}
	dir, err := s.Data.RepoFeeds(repo.Owner, repo.Name)
	if err != nil {
		return err
	}
	used, err := dirSize(dir)
	if err != nil {
		return err
	}
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			used += fi.Size()
		}
	}
	if limit := s.QuotaMB << 20; used > limit {
		return fmt.Errorf("%w: its feeds would use %d MB of %d MB; delete old branches or tags (their feeds go with them) or ask the operator for more", ErrOverQuota, used>>20, s.QuotaMB)
	}
	return nil
}

// dirSize adds up the regular files below dir (0 when it does not exist).
func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n, err
}

// measureFeeds sets the feed size gauge of a repository.
func (s *Publisher) measureFeeds(repo store.Repository) {
	dir, err := s.Data.RepoFeeds(repo.Owner, repo.Name)
	if err != nil {
		return
	}
	if n, err := dirSize(dir); err == nil {
		label := repo.Path()
		if repo.Private {
			// /metrics is public: a private repository's name is not.
			label = "private-" + strconv.FormatInt(repo.ID, 10)
		}
		s.Metrics.FeedBytes.WithLabelValues(label).Set(float64(n))
	}
}
