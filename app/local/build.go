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
	"github.com/openwrt-ppa/openwrt-ppa/feeds/apksign"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/usign"
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
	// OutDir receives the feeds, OutDir/<series>/<arch>/, and the public keys: OutDir/key.pub
	// (usign, opkg feeds) and OutDir/key.pem (ECDSA, apk feeds).
	OutDir     string
	KeyFile    string // usign secret key of opkg feeds; empty: ConfigDir/key-build, made once
	APKKeyFile string // PEM secret key of apk feeds; empty: ConfigDir/private-key.pem, made once
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
	Format       string // builder.FormatIPK or builder.FormatAPK
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
	Fingerprint string   // the usign key's, the router's /etc/opkg/keys/<fingerprint> ("" without opkg feeds)
	APKKeyID    string   // the apk key's id ("" without apk feeds)
	Lines       []string // what a router owner pastes
}

// OK reports whether every job succeeded and nothing was refused.
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

// Build clones SOURCE, plans, builds each job in a container and publishes a signed feed per
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
	source, ref := SplitSource(opt.Source)
	if opt.Ref != "" {
		if ref != "" && ref != opt.Ref {
			return res, fmt.Errorf("the source names ref %q and --ref %q; give one", ref, opt.Ref)
		}
		ref = opt.Ref
	}
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
	keys, err := loadKeys(plan, opt)
	if err != nil {
		return res, err
	}
	if keys.usign != nil {
		res.Fingerprint = keys.usign.Fingerprint.String()
	}
	if keys.apk != nil {
		res.APKKeyID = keys.apk.ID.String()
	}
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
		feed, err := publishLocal(ctx, opt.OutDir, job, r, keys)
		if err != nil {
			return res, err
		}
		res.Feeds = append(res.Feeds, feed)
		fmt.Fprintf(progress, "    published %d package(s) to %s\n", len(feed.Packages), feed.Dir)
		for _, ref := range feed.Refused {
			fmt.Fprintf(progress, "    refused by the index: %s\n", ref)
		}
	}
	if err := keys.writePublic(opt.OutDir, res.Feeds); err != nil {
		return res, err
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

// signingKeys are the keys of a build by hand: usign for opkg feeds, ECDSA for apk feeds, each
// loaded (or made) only when the plan has a job of its format.
type signingKeys struct {
	usign *usign.SecretKey
	apk   *apksign.SecretKey
}

func loadKeys(plan builder.Plan, opt Options) (signingKeys, error) {
	var k signingKeys
	var err error
	for _, j := range plan.Jobs {
		switch {
		case j.Format == builder.FormatAPK && k.apk == nil:
			if k.apk, err = loadOrCreateAPKKey(opt.APKKeyFile, opt.ConfigDir); err != nil {
				return k, err
			}
		case j.Format != builder.FormatAPK && k.usign == nil:
			if k.usign, err = loadOrCreateKey(opt.KeyFile, opt.ConfigDir); err != nil {
				return k, err
			}
		}
	}
	return k, nil
}

// writePublic writes the public key of each format that has a feed: key.pub, key.pem.
func (k signingKeys) writePublic(outDir string, fs []Feed) error {
	for _, f := range fs {
		var name string
		var pub []byte
		var err error
		if f.Format == builder.FormatAPK {
			name = "key.pem"
			pub, err = k.apk.Public().MarshalPEM()
		} else {
			name = "key.pub"
			pub, err = k.usign.Public().MarshalText()
		}
		if err != nil {
			return err
		}
		if err := atomicfile.WriteFile(filepath.Join(outDir, name), pub, 0o644); err != nil {
			return fmt.Errorf("writing the public key: %w", err)
		}
	}
	return nil
}
