package builder

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
)

// Job is one build: a repository at a commit, for one (series, arch), in one SDK image.
type Job struct {
	Repo      string      `json:"repo"`   // how the repository is known (owner/repo, or its URL)
	Commit    string      `json:"commit"` // full commit hash
	Series    string      `json:"series"`
	Release   string      `json:"release"`
	Arch      string      `json:"arch"`
	Image     string      `json:"image"`
	Format    string      `json:"format"`               // FormatIPK or FormatAPK
	IndexJSON int         `json:"index_json,omitempty"` // the index.json version to publish
	Packages  []string    `json:"packages"`             // sorted package names to build
	Units     []Unit      `json:"units"`                // the package folders that make them
	Feeds     []ExtraFeed `json:"feeds,omitempty"`
	// Trust is the scope the job builds in; results of one scope never stand for another's.
	Trust TrustScope `json:"trust"`
	// ImageDigest is the content digest Image resolved to, when known.
	ImageDigest string `json:"image_digest,omitempty"`
	// Key identifies identical jobs: a hash of everything above and of the configuration.
	Key string `json:"key"`
}

// TrustScope separates builds whose results must not be shared: a pull request's build runs code
// that may come from a fork and may have poisoned its scope's caches, so what it made never
// stands for a branch's or a tag's build, which is published with the main key.
type TrustScope string

const (
	TrustRef         TrustScope = "ref" // a branch or tag of the repository itself
	TrustPullRequest TrustScope = "pr"  // a pull or merge request, also from a fork
)

// ErrNotReusable means a job's output is not fixed by its inputs (a feed follows a branch, the
// image's digest is unknown): it has no content key, and is built rather than reused.
var ErrNotReusable = errors.New("the job's result cannot be reused")

// ContentInput is everything that changes what a job produces.
type ContentInput struct {
	Repo        string // the repository, as the service knows it (forge and its id)
	Commit      string
	Series      string
	Arch        string
	Image       string // the SDK image reference
	ImageDigest string // the content digest the reference resolves to now ("sha256:…")
	Trust       TrustScope
	ConfigRaw   []byte // the configuration file's bytes (nil without one)
	// Feeds are the configuration's extra feeds; FeedCommits gives the commit each one's ref
	// resolves to now (by feed name). A feed pinned to a commit in the configuration needs none.
	Feeds       []ExtraFeed
	FeedCommits map[string]string
}

// ContentKey identifies what a job builds, so a successful job with the same key can be reused
// instead of run again. Every input that changes the output is in it; one that is not known is
// ErrNotReusable, never left out.
func ContentKey(in ContentInput) (string, error) {
	if in.Trust != TrustRef && in.Trust != TrustPullRequest {
		return "", fmt.Errorf("content key: trust scope %q is neither %q nor %q", in.Trust, TrustRef, TrustPullRequest)
	}
	if in.Repo == "" || !hashRe.MatchString(in.Commit) || in.Series == "" || in.Arch == "" || in.Image == "" {
		return "", fmt.Errorf("content key: repository, commit, series, arch and image are all needed (got %q %q %q %q %q)", in.Repo, in.Commit, in.Series, in.Arch, in.Image)
	}
	if in.ImageDigest == "" {
		return "", fmt.Errorf("%w: the digest of %s is unknown", ErrNotReusable, in.Image)
	}
	feeds, err := pinFeeds(in.Feeds, in.FeedCommits)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	enc := json.NewEncoder(h)
	h.Write([]byte("openwrt-ppa content v2\n"))
	// JSON quotes every field, so no value can pass for another's.
	if err := enc.Encode([]any{in.Repo, in.Commit, in.Series, in.Arch, in.Image, in.ImageDigest, in.Trust, feeds}); err != nil {
		return "", fmt.Errorf("content key: %w", err)
	}
	h.Write(in.ConfigRaw)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// pinFeeds returns feeds with every ref replaced by its commit, or ErrNotReusable for a feed
// whose commit is not known.
func pinFeeds(feeds []ExtraFeed, commits map[string]string) ([]ExtraFeed, error) {
	out := make([]ExtraFeed, len(feeds))
	for i, f := range feeds {
		c := commits[f.Name]
		if c == "" && hashRe.MatchString(f.Ref) {
			c = f.Ref
		}
		if !hashRe.MatchString(c) {
			return nil, fmt.Errorf("%w: the commit of feed %s (%s) is not known", ErrNotReusable, f.Name, cmp.Or(f.Ref, "default branch"))
		}
		out[i] = ExtraFeed{Name: f.Name, URL: f.URL, Ref: c}
	}
	return out, nil
}

// Unit is one package folder to build (make package/<Name>/compile) and the packages it makes.
type Unit struct {
	Dir      string   `json:"dir"`  // slash path in the repository
	Name     string   `json:"name"` // the folder's name, what make package/<Name>/… uses
	Packages []string `json:"packages"`
}

// Name is the job's check-run name part, "<series>/<arch>".
func (j Job) Name() string { return j.Series + "/" + j.Arch }

// MovingImage reports whether the job's SDK image is re-pushed under the same tag: upstream
// rebuilds the snapshot series' images daily, while a point release's tag ("-24.10.6",
// "-v24.10.6") never changes. Executors refresh a moving image instead of keeping it for ever.
func (j Job) MovingImage() bool { return j.Series == "snapshot" && ReleaseOfImage(j.Image) == "" }

// Plan is the jobs of one repository commit, and the packages that were refused.
type Plan struct {
	Jobs    []Job
	Refused []Refusal
}

// PlanInput is what a plan is made from.
type PlanInput struct {
	Repo      string
	Commit    string
	Config    Config
	ConfigRaw []byte // the configuration file's bytes (nil without one), part of the job key
	Found     Discovery
	Catalogue *Catalogue
	Images    ImageOptions
	// Trust is the jobs' trust scope; empty means TrustPullRequest, the one that shares least.
	Trust TrustScope
	// ImageDigests gives the content digest of image references, when known.
	ImageDigests map[string]string
	// FeedCommits pins the configuration's extra feeds to these commits (by feed name), so the
	// build uses the commits its key names.
	FeedCommits map[string]string
	// Series and Archs, when set, replace the configuration's matrix (the CLI's --series/--arch).
	Series []string
	Archs  []string
}

// ErrNoPackages means the repository has nothing to build.
var ErrNoPackages = errors.New("no OpenWrt package Makefiles found (a package folder has a Makefile that includes $(INCLUDE_DIR)/package.mk)")

// MakePlan expands the configuration's matrix into jobs. Configuration mistakes found only now
// (an unknown series, arch, target or package) are *ConfigError naming the file.
func MakePlan(in PlanInput) (Plan, error) {
	if in.Catalogue == nil {
		return Plan{}, errors.New("making a plan: no SDK catalogue given")
	}
	cfgErr := func(format string, args ...any) error {
		return &ConfigError{File: ConfigFile, Msg: fmt.Sprintf(format, args...)}
	}
	plan := Plan{Refused: append([]Refusal(nil), in.Found.Refused...)}
	found := in.Found.PackageNames()
	if len(found) == 0 {
		if len(plan.Refused) > 0 {
			return plan, fmt.Errorf("%w; every package found was refused, e.g. %s: %s", ErrNoPackages, plan.Refused[0].Package, plan.Refused[0].Reason)
		}
		return plan, ErrNoPackages
	}
	pkgs := found
	if len(in.Config.Packages) > 0 {
		pkgs = nil
		for _, p := range in.Config.Packages {
			if !slices.Contains(found, p) {
				if r := refusalOf(plan.Refused, p); r != nil {
					return plan, cfgErr("packages: %s is refused: %s", p, r.Reason)
				}
				return plan, cfgErr("packages: %s is not defined by any package Makefile of the repository (found: %s)", p, strings.Join(found, ", "))
			}
			pkgs = append(pkgs, p)
		}
		sort.Strings(pkgs)
	}

	series := in.Config.Series
	if len(in.Series) > 0 {
		series = in.Series
	}
	archs := append([]string(nil), in.Config.Archs...)
	if len(in.Archs) > 0 {
		archs = append([]string(nil), in.Archs...)
	} else {
		for _, t := range in.Config.Targets {
			a, err := in.Catalogue.TargetArch(t)
			if err != nil {
				return plan, cfgErr("targets: %v", err)
			}
			if !slices.Contains(archs, a) {
				archs = append(archs, a)
			}
		}
	}
	if len(series) == 0 || len(archs) == 0 {
		return plan, cfgErr("the build matrix is empty: give at least one series and one arch or target")
	}
	units := unitsFor(in.Found, pkgs)
	cfgSum := sha256.Sum256(in.ConfigRaw)
	trust := cmp.Or(in.Trust, TrustPullRequest)
	if trust != TrustRef && trust != TrustPullRequest {
		return plan, fmt.Errorf("making a plan: trust scope %q is neither %q nor %q", trust, TrustRef, TrustPullRequest)
	}
	feeds := slices.Clone(in.Config.Feeds)
	for i, f := range feeds {
		if c := in.FeedCommits[f.Name]; c != "" {
			if !hashRe.MatchString(c) {
				return plan, fmt.Errorf("making a plan: feed %s: %q is not a full commit hash", f.Name, c)
			}
			feeds[i].Ref = c
		}
	}
	for _, s := range series {
		for _, a := range archs {
			img, err := in.Catalogue.Image(s, a, in.Images)
			job := Job{
				Repo: in.Repo, Commit: in.Commit, Series: s, Release: img.Release, Arch: a,
				Image: img.Ref, Format: img.Format, IndexJSON: img.IndexJSON,
				Packages: pkgs, Units: units, Feeds: feeds, Trust: trust, ImageDigest: in.ImageDigests[img.Ref],
			}
			if err != nil {
				return plan, cfgErr("%v", err)
			}
			job.Key = jobKey(job, cfgSum[:])
			plan.Jobs = append(plan.Jobs, job)
		}
	}
	return plan, nil
}

// unitsFor lists the folders that make the wanted packages.
func unitsFor(found Discovery, want []string) []Unit {
	var out []Unit
	for _, s := range found.Sources {
		u := Unit{Dir: s.Dir, Name: path.Base(s.Dir)}
		for _, b := range s.Packages {
			if slices.Contains(want, b.Name) {
				u.Packages = append(u.Packages, b.Name)
			}
		}
		if len(u.Packages) > 0 {
			out = append(out, u)
		}
	}
	return out
}

func refusalOf(rs []Refusal, pkg string) *Refusal {
	for i := range rs {
		if rs[i].Package == pkg {
			return &rs[i]
		}
	}
	return nil
}

// jobKey hashes a job's inputs; the version prefix changes when what a job means changes.
func jobKey(j Job, cfgSum []byte) string {
	j.Key = ""
	b, err := json.Marshal(j)
	if err != nil {
		panic(fmt.Sprintf("encoding a job cannot fail: %v", err))
	}
	h := sha256.New()
	h.Write([]byte("openwrt-ppa job v2\n"))
	h.Write(b)
	h.Write(cfgSum)
	return hex.EncodeToString(h.Sum(nil))
}
