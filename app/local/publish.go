package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/feeds"
)

// publishLocal indexes and signs the built packages into OutDir/<series>/<arch>, replacing what
// was there only once the new folder is complete.
func publishLocal(ctx context.Context, outDir string, job builder.Job, r builder.Result, keys signingKeys) (Feed, error) {
	feed := Feed{Series: job.Series, Arch: job.Arch, Format: job.Format, Dir: filepath.Join(outDir, job.Series, job.Arch)}
	if err := os.MkdirAll(filepath.Dir(feed.Dir), 0o755); err != nil {
		return feed, err
	}
	stage, err := os.MkdirTemp(filepath.Dir(feed.Dir), "."+job.Arch+".new-")
	if err != nil {
		return feed, fmt.Errorf("staging the feed: %w", err)
	}
	defer os.RemoveAll(stage)
	if err := os.Chmod(stage, 0o755); err != nil {
		return feed, err
	}
	for _, p := range r.Packages {
		if p.Status != builder.PackageBuilt {
			continue
		}
		for _, f := range p.Files {
			if err := copyRegular(f, filepath.Join(stage, filepath.Base(f))); err != nil {
				return feed, fmt.Errorf("staging %s: %w", filepath.Base(f), err)
			}
		}
	}
	var refused []*feeds.PackageError
	if job.Format == builder.FormatAPK {
		ix, err := feeds.IndexAPKDir(ctx, stage, feeds.APKDirOptions{Arch: job.Arch, Signer: keys.apk, Sync: true})
		if err != nil {
			return feed, fmt.Errorf("indexing the %s feed: %w", job.Name(), err)
		}
		refused = ix.Refused
		for _, e := range ix.Index.Entries {
			feed.Packages = append(feed.Packages, e.Name)
		}
	} else {
		ix, err := feeds.IndexDir(ctx, stage, feeds.DirOptions{Arch: job.Arch, IndexJSON: indexVersion(job), Signer: keys.usign, Sync: true})
		if err != nil {
			return feed, fmt.Errorf("indexing the %s feed: %w", job.Name(), err)
		}
		refused = ix.Refused
		for _, e := range ix.Index.Entries {
			feed.Packages = append(feed.Packages, e.Control.Get("Package"))
		}
	}
	for _, ref := range refused {
		feed.Refused = append(feed.Refused, ref.Error())
		_ = os.Remove(filepath.Join(stage, filepath.Base(ref.File)))
	}
	old := feed.Dir + ".old"
	_ = os.RemoveAll(old)
	if err := os.Rename(feed.Dir, old); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return feed, fmt.Errorf("replacing %s: %w", feed.Dir, err)
	}
	if err := os.Rename(stage, feed.Dir); err != nil {
		return feed, fmt.Errorf("publishing %s: %w", feed.Dir, err)
	}
	_ = os.RemoveAll(old)
	return feed, nil
}

func indexVersion(job builder.Job) int {
	if job.IndexJSON == 0 {
		return 1
	}
	return job.IndexJSON
}

func copyRegular(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", src)
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

var feedNameRe = regexp.MustCompile(`[^A-Za-z0-9_]+`)

// localFeedName names the feed in customfeeds.conf after the repository: owner_repo.
func localFeedName(source string) string {
	s := strings.TrimSuffix(strings.TrimRight(source, "/"), ".git")
	remote := strings.Contains(s, "://") || strings.Contains(s, "@") && strings.Contains(s, ":")
	parts := strings.Split(strings.ReplaceAll(s, ":", "/"), "/")
	name := parts[len(parts)-1]
	if remote && len(parts) >= 2 && parts[len(parts)-2] != "" {
		name = parts[len(parts)-2] + "_" + name
	}
	name = strings.Trim(feedNameRe.ReplaceAllString(name, "_"), "_")
	if name == "" {
		return "openwrt_ppa"
	}
	return name
}

// routerLines are what a router runs for the feeds: per format the key, each feed, the update.
// An opkg router (24.10 and older) and an apk one (25.12, snapshots) each take their own lines.
func routerLines(source, baseURL, fingerprint string, fs []Feed) []string {
	if len(fs) == 0 {
		return nil
	}
	if baseURL == "" {
		baseURL = PlaceholderBaseURL
	}
	baseURL = strings.TrimRight(baseURL, "/")
	name := localFeedName(source)
	var opkg, apk []string
	for _, f := range fs {
		if f.Format == builder.FormatAPK {
			apk = append(apk, fmt.Sprintf("echo '%s/%s/%s/packages.adb' >> /etc/apk/repositories.d/customfeeds.list", baseURL, f.Series, f.Arch))
			continue
		}
		opkg = append(opkg, fmt.Sprintf("echo 'src/gz %s_%s %s/%s/%s' >> /etc/opkg/customfeeds.conf", name, strings.ReplaceAll(f.Series, ".", ""), baseURL, f.Series, f.Arch))
	}
	var lines []string
	if len(opkg) > 0 {
		lines = append(lines, opkg...)
		lines = append(lines, fmt.Sprintf("wget -O /etc/opkg/keys/%s %s/key.pub", fingerprint, baseURL), "opkg update")
	}
	if len(apk) > 0 {
		lines = append(lines, fmt.Sprintf("wget -O /etc/apk/keys/%s.pem %s/key.pem", name, baseURL))
		lines = append(lines, apk...)
		lines = append(lines, "apk update")
	}
	return lines
}
