package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/internal/atomicfile"
)

// PlaceholderBaseURL stands for where the user will serve the feed folder.
const PlaceholderBaseURL = "https://HOST/PATH"

// Options are the inputs of `openwrt-ppa build`.
type Options struct {
	Source   string // git URL or local path, optionally SOURCE@REF
	Ref      string // branch, tag or commit (--ref); conflicts with a different @REF
	Series   []string
	Archs    []string
	Image    string // SDK image for every job (e.g. the stand-in)
	Registry string // SDK image repository (a mirror)
	OutDir   string // the feed lands in OutDir/<series>/<arch>/, the public key at OutDir/key.pub
	KeyFile  string // usign secret key; empty: ConfigDir/key-build, made once
	SSHKey   string // private key file for an ssh URL; empty: the user's ssh agent
	// AsIs builds a local git folder's files as they are, uncommitted changes included, instead
	// of its commit. A folder that is not a git repository is always built as it is.
	AsIs bool
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

// Feed is one published feed folder.
type Feed struct {
	Series, Arch string
	Dir          string
	Packages     []string // names published
	Refused      []string // packages the index refused, with the reason
}

// Result is what `openwrt-ppa build` did.
type Result struct {
	Commit      string
	Plan        builder.Plan
	Results     []builder.Result
	Feeds       []Feed
	Fingerprint string   // the signing key's, the router's /etc/opkg/keys/<fingerprint>
	Lines       []string // what a router owner pastes
}

// OK reports whether every job succeeded, nothing was refused and something was published: a
// build where every package was skipped (e.g. not made for the arch asked for) is no success.
func (r Result) OK() bool {
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
	return len(r.Feeds) > 0
}

// Closing is the last line of a build: what it made, or why it is not a success.
func (r Result) Closing(outDir string) string {
	var failed, skipped []string
	built := 0
	for _, res := range r.Results {
		if res.Status == builder.JobUnsupported {
			failed = append(failed, res.Job.Name()+" ("+res.Message+")")
		}
		for _, p := range res.Packages {
			switch p.Status {
			case builder.PackageBuilt:
				built++
			case builder.PackageFailed:
				failed = append(failed, p.Name+" for "+res.Job.Name())
			case builder.PackageSkipped:
				skipped = append(skipped, p.Name+" for "+res.Job.Name()+": "+p.Reason)
			}
		}
		if res.Status != builder.JobSucceeded && res.Status != builder.JobUnsupported && len(res.Packages) == 0 {
			failed = append(failed, res.Job.Name()+" ("+res.Message+")")
		}
	}
	for _, f := range r.Feeds {
		for _, ref := range f.Refused {
			failed = append(failed, "refused by the index: "+ref)
		}
	}
	switch {
	case len(failed) > 0:
		return fmt.Sprintf("not every package was built: %s failed (see FAILED above; -v shows the whole log)", strings.Join(failed, ", "))
	case len(r.Feeds) == 0 && len(skipped) > 0:
		return fmt.Sprintf("nothing was built: every package was skipped (%s); check --arch, or the archs and targets of %s", skipped[0], builder.ConfigFile)
	case len(r.Feeds) == 0:
		return "nothing was built"
	}
	return fmt.Sprintf("built %d package(s) into %d feed(s) in %s", built, len(r.Feeds), outDir)
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

// Check finds the mistakes of opt that need nothing fetched: a source that is neither a URL nor a
// folder, an ssh URL without credentials, an unknown --series or --arch (a *FlagError).
func Check(opt Options) error {
	_, _, _, err := prepare(opt)
	return err
}

func prepare(opt Options) (source, string, *builder.Catalogue, error) {
	src, ref := SplitSource(opt.Source)
	if opt.Ref != "" {
		if ref != "" && ref != opt.Ref {
			return source{}, "", nil, fmt.Errorf("the source names ref %q and --ref %q; give one", ref, opt.Ref)
		}
		ref = opt.Ref
	}
	where, err := resolveSource(src, ref, opt.AsIs, opt.SSHKey)
	if err != nil {
		return where, ref, nil, err
	}
	cat, err := builder.LoadCatalogue()
	if err != nil {
		return where, ref, nil, err
	}
	return where, ref, cat, CheckFlags(cat, opt.Series, opt.Archs, nil)
}

// Build checks SOURCE out (or copies a folder that is not a git repository), plans, builds each job in a container and publishes a signed feed per
// (series, arch) into OutDir. The error is for what stopped it altogether; failed packages are
// in the results (see OK), and the packages that were built are published all the same.
func Build(ctx context.Context, opt Options) (Result, error) {
	var res Result
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
	where, ref, cat, err := prepare(opt)
	if err != nil {
		return res, err
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
	if where.asIs {
		why := "not a git repository: built the folder as it is"
		if !where.notGit {
			why = "--as-is: built the folder as it is, uncommitted changes included"
		}
		fmt.Fprintf(progress, "copying %s (%s)\n", where.folder, why)
		outAbs, _ := filepath.Abs(opt.OutDir)
		if res.Commit, err = copyFolder(where.folder, src, outAbs, builder.DefaultMaxCheckoutBytes); err != nil {
			return res, err
		}
		fmt.Fprintf(progress, "%s: %s; content id %s (%s)\n", where.folder, why, res.Commit, since(start))
	} else {
		fmt.Fprintf(progress, "checking out %s%s\n", where.url, refSuffix(ref))
		co := &builder.Checkouter{CacheDir: opt.CacheDir, Logger: opt.Logger, Auth: where.auth}
		cres, err := co.Checkout(ctx, builder.CheckoutRequest{URL: where.url, Ref: ref}, src)
		if err != nil {
			return res, err
		}
		res.Commit = cres.Commit
		fmt.Fprintf(progress, "at commit %s (%s)\n", cres.Commit, since(start))
		if where.folder != "" {
			// A git folder builds a commit, as the service would: what is not committed is left out.
			if some, n, err := uncommitted(where.folder, 3); err == nil && n > 0 {
				fmt.Fprintf(progress, "note: %s has %d uncommitted change(s) (%s), left out of the build: commit them, or pass --as-is to build the folder as it is\n",
					where.folder, n, strings.Join(some, ", "))
			}
		}
	}

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
	if err := CheckFlags(cat, opt.Series, opt.Archs, cfg.Series); err != nil {
		return res, err
	}
	plan, err := builder.MakePlan(builder.PlanInput{
		Repo: where.url, Commit: res.Commit, Config: cfg, ConfigRaw: raw, Found: found, Catalogue: cat,
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
		if err := ctx.Err(); err != nil {
			return res, err // stopped: what was half built is not published
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
	res.Lines = routerLines(where.url, opt.BaseURL, res.Fingerprint, res.Feeds)
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
