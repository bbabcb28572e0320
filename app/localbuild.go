package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/usign"
	"github.com/openwrt-ppa/openwrt-ppa/internal/atomicfile"
)

// PlaceholderBaseURL stands for where the user will serve the feed folder.
const PlaceholderBaseURL = "https://HOST/PATH"

// LocalBuildOptions are the inputs of `openwrt-ppa build`.
type LocalBuildOptions struct {
	Source   string // git URL or local path, optionally SOURCE@REF
	Ref      string // branch, tag or commit (--ref); conflicts with a different @REF
	Series   []string
	Archs    []string
	Image    string // SDK image for every job (e.g. the stand-in)
	Registry string // SDK image repository (a mirror)
	OutDir   string // the feed lands in OutDir/<series>/<arch>/, the public key at OutDir/key.pub
	KeyFile  string // usign secret key; empty: ConfigDir/key-build, made once
	// ConfigDir keeps the default key (the user's configuration folder, e.g. ~/.config/openwrt-ppa).
	ConfigDir string
	CacheDir  string // git clone cache
	BaseURL   string // where OutDir is served, for the printed lines; empty: PlaceholderBaseURL
	Limits    builder.Limits
	Executor  builder.Executor
	Progress  io.Writer // progress lines (which job, which package, elapsed time)
	Log       io.Writer // the build log, streamed when not nil (-v)
	Logger    *slog.Logger
}

// LocalFeed is one published feed folder.
type LocalFeed struct {
	Series, Arch string
	Dir          string
	Packages     []string // names published
	Refused      []string // packages the index refused, with the reason
}

// LocalBuildResult is what `openwrt-ppa build` did.
type LocalBuildResult struct {
	Commit      string
	Plan        builder.Plan
	Results     []builder.Result
	Feeds       []LocalFeed
	Fingerprint string   // the signing key's, the router's /etc/opkg/keys/<fingerprint>
	Lines       []string // what a router owner pastes
}

// OK reports whether every job succeeded and nothing was refused.
func (r LocalBuildResult) OK() bool {
	for _, res := range r.Results {
		if res.Status != builder.JobSucceeded {
			return false
		}
	}
	for _, f := range r.Feeds {
		if len(f.Refused) > 0 {
			return false
		}
	}
	return len(r.Results) > 0
}

// SplitSource splits SOURCE@REF: the part after the last @ is a ref when it holds no / or :
// (so git@host:o/r.git stays whole).
func SplitSource(s string) (source, ref string) {
	i := strings.LastIndex(s, "@")
	if i <= 0 || i == len(s)-1 {
		return s, ""
	}
	if tail := s[i+1:]; !strings.ContainsAny(tail, "/:") {
		return s[:i], tail
	}
	return s, ""
}

// LocalBuild clones SOURCE, plans, builds each job in a container and publishes a signed feed per
// (series, arch) into OutDir. The error is for what stopped it altogether; failed packages are
// in the results (see OK), and the packages that were built are published all the same.
func LocalBuild(ctx context.Context, opt LocalBuildOptions) (LocalBuildResult, error) {
	var res LocalBuildResult
	if opt.Executor == nil {
		return res, errors.New("no executor to run builds")
	}
	if opt.OutDir == "" {
		return res, errors.New("no output folder: give --out DIR")
	}
	progress := opt.Progress
	if progress == nil {
		progress = io.Discard
	}
	source, ref := SplitSource(opt.Source)
	if opt.Ref != "" {
		if ref != "" && ref != opt.Ref {
			return res, fmt.Errorf("the source names ref %q and --ref %q; give one", ref, opt.Ref)
		}
		ref = opt.Ref
	}
	key, err := loadOrCreateKey(opt.KeyFile, opt.ConfigDir)
	if err != nil {
		return res, err
	}
	res.Fingerprint = key.Fingerprint.String()

	work, err := os.MkdirTemp("", "openwrt-ppa-build-")
	if err != nil {
		return res, fmt.Errorf("making a work folder: %w", err)
	}
	defer os.RemoveAll(work)
	src := filepath.Join(work, "src")
	start := time.Now()
	fmt.Fprintf(progress, "checking out %s%s\n", source, refSuffix(ref))
	co := &builder.Checkouter{CacheDir: opt.CacheDir, Logger: opt.Logger}
	cres, err := co.Checkout(ctx, builder.CheckoutRequest{URL: source, Ref: ref}, src)
	if err != nil {
		return res, err
	}
	res.Commit = cres.Commit
	fmt.Fprintf(progress, "at commit %s (%s)\n", cres.Commit, since(start))

	raw, err := readConfig(src)
	if err != nil {
		return res, err
	}
	cfg, err := builder.ParseConfig(builder.ConfigFile, raw)
	if err != nil {
		return res, err
	}
	found, err := builder.Discover(os.DirFS(src))
	if err != nil {
		return res, err
	}
	for _, r := range found.Refused {
		fmt.Fprintf(progress, "refused %s (%s): %s\n", r.Package, r.Dir, r.Reason)
	}
	cat, err := builder.LoadCatalogue()
	if err != nil {
		return res, err
	}
	plan, err := builder.MakePlan(builder.PlanInput{
		Repo: source, Commit: cres.Commit, Config: cfg, ConfigRaw: raw, Found: found, Catalogue: cat,
		Images: builder.ImageOptions{Registry: opt.Registry, Image: opt.Image}, Series: opt.Series, Archs: opt.Archs,
	})
	if err != nil {
		return res, err
	}
	res.Plan = plan
	fmt.Fprintf(progress, "%d job(s), packages: %s\n", len(plan.Jobs), strings.Join(plan.Jobs[0].Packages, ", "))

	if err := os.MkdirAll(opt.OutDir, 0o755); err != nil {
		return res, fmt.Errorf("making %s: %w", opt.OutDir, err)
	}
	for i, job := range plan.Jobs {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		fmt.Fprintf(progress, "[%d/%d] %s in %s\n", i+1, len(plan.Jobs), job.Name(), job.Image)
		jobStart := time.Now()
		sink := newProgressSink(progress, opt.Log, jobStart)
		out := filepath.Join(work, "out", job.Series+"-"+job.Arch)
		r, err := builder.Execute(ctx, opt.Executor, builder.JobSpec{Job: job, SourceDir: src, Limits: opt.Limits, Log: sink}, out)
		if err != nil {
			return res, err
		}
		res.Results = append(res.Results, r)
		reportJob(progress, r, time.Since(jobStart))
		if len(r.Built()) == 0 {
			continue
		}
		feed, err := publishLocal(ctx, opt.OutDir, job, r, key)
		if err != nil {
			return res, err
		}
		res.Feeds = append(res.Feeds, feed)
		fmt.Fprintf(progress, "    published %d package(s) to %s\n", len(feed.Packages), feed.Dir)
		for _, ref := range feed.Refused {
			fmt.Fprintf(progress, "    refused by the index: %s\n", ref)
		}
	}
	if len(res.Feeds) > 0 {
		pub, err := key.Public().MarshalText()
		if err != nil {
			return res, err
		}
		if err := atomicfile.WriteFile(filepath.Join(opt.OutDir, "key.pub"), pub, 0o644); err != nil {
			return res, fmt.Errorf("writing the public key: %w", err)
		}
	}
	res.Lines = routerLines(source, opt.BaseURL, res.Fingerprint, res.Feeds)
	return res, nil
}

func refSuffix(ref string) string {
	if ref == "" {
		return ""
	}
	return " at " + ref
}

func since(t time.Time) string { return time.Since(t).Round(100 * time.Millisecond).String() }

// readConfig reads .openwrt-ppa.yml when it is a regular file (a symlink could point anywhere).
func readConfig(src string) ([]byte, error) {
	p := filepath.Join(src, builder.ConfigFile)
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", builder.ConfigFile, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, &builder.ConfigError{File: builder.ConfigFile, Msg: "must be a regular file, not a symlink or folder"}
	}
	return os.ReadFile(p)
}

func reportJob(w io.Writer, r builder.Result, took time.Duration) {
	fmt.Fprintf(w, "    %s: %s (%s)\n", r.Job.Name(), r.Message, took.Round(100*time.Millisecond))
	for _, p := range r.Packages {
		switch p.Status {
		case builder.PackageBuilt:
			fmt.Fprintf(w, "    built   %s\n", p.Name)
		case builder.PackageSkipped:
			fmt.Fprintf(w, "    skipped %s: %s\n", p.Name, p.Reason)
		case builder.PackageFailed:
			fmt.Fprintf(w, "    FAILED  %s: %s\n", p.Name, p.Reason)
			for _, l := range lastN(p.Log, 15) {
				fmt.Fprintf(w, "      | %s\n", l)
			}
		}
	}
	for _, r := range r.Refused {
		fmt.Fprintf(w, "    not collected: %s\n", r)
	}
}

func lastN(l []string, n int) []string {
	if len(l) > n {
		return l[len(l)-n:]
	}
	return l
}

// progressSink shows the driver's markers as progress and, with -v, the whole log.
type progressSink struct {
	mu    sync.Mutex
	w     io.Writer
	log   io.Writer
	start time.Time
}

func newProgressSink(w, log io.Writer, start time.Time) *progressSink {
	return &progressSink{w: w, log: log, start: start}
}

func (s *progressSink) Line(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.log != nil {
		fmt.Fprintln(s.log, line)
	}
	if msg, ok := strings.CutPrefix(line, "::openwrt-ppa:: "); ok && s.log == nil {
		fmt.Fprintf(s.w, "    %6s  %s\n", time.Since(s.start).Round(time.Second), msg)
	}
}

// publishLocal indexes and signs the built packages into OutDir/<series>/<arch>, replacing what
// was there only once the new folder is complete.
func publishLocal(ctx context.Context, outDir string, job builder.Job, r builder.Result, key *usign.SecretKey) (LocalFeed, error) {
	feed := LocalFeed{Series: job.Series, Arch: job.Arch, Dir: filepath.Join(outDir, job.Series, job.Arch)}
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
	ix, err := feeds.IndexDir(ctx, stage, feeds.DirOptions{Arch: job.Arch, IndexJSON: indexVersion(job), Signer: key, Sync: true})
	if err != nil {
		return feed, fmt.Errorf("indexing the %s feed: %w", job.Name(), err)
	}
	for _, ref := range ix.Refused {
		feed.Refused = append(feed.Refused, ref.Error())
		_ = os.Remove(filepath.Join(stage, filepath.Base(ref.File)))
	}
	for _, e := range ix.Index.Entries {
		feed.Packages = append(feed.Packages, e.Control.Get("Package"))
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

func routerLines(source, baseURL, fingerprint string, fs []LocalFeed) []string {
	if len(fs) == 0 {
		return nil
	}
	if baseURL == "" {
		baseURL = PlaceholderBaseURL
	}
	baseURL = strings.TrimRight(baseURL, "/")
	name := localFeedName(source)
	var lines []string
	for _, f := range fs {
		lines = append(lines, fmt.Sprintf("echo 'src/gz %s_%s %s/%s/%s' >> /etc/opkg/customfeeds.conf", name, strings.ReplaceAll(f.Series, ".", ""), baseURL, f.Series, f.Arch))
	}
	lines = append(lines, fmt.Sprintf("wget -O /etc/opkg/keys/%s %s/key.pub", fingerprint, baseURL))
	return lines
}

// loadOrCreateKey reads the secret key file, or the default key in configDir (made once).
func loadOrCreateKey(keyFile, configDir string) (*usign.SecretKey, error) {
	if keyFile == "" {
		if configDir == "" {
			return nil, errors.New("no signing key: give --key FILE (made by openwrt-ppa keygen)")
		}
		keyFile = filepath.Join(configDir, "key-build")
		if _, err := os.Stat(keyFile); errors.Is(err, fs.ErrNotExist) {
			sk, err := usign.Generate(nil, "openwrt-ppa local build key")
			if err != nil {
				return nil, err
			}
			text, err := sk.MarshalText()
			if err != nil {
				return nil, err
			}
			if err := os.MkdirAll(configDir, 0o700); err != nil {
				return nil, fmt.Errorf("making %s: %w", configDir, err)
			}
			if err := atomicfile.WriteFile(keyFile, text, 0o600); err != nil {
				return nil, fmt.Errorf("writing the new signing key: %w", err)
			}
			return sk, nil
		}
	}
	data, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("reading the signing key: %w", err)
	}
	sk, err := usign.ParseSecretKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s is not a usign secret key (make one with openwrt-ppa keygen): %w", keyFile, err)
	}
	return sk, nil
}
