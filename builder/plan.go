package builder

import (
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
	// Unsupported, when set, says why the job fails at once without running (apk series).
	Unsupported string `json:"unsupported,omitempty"`
	// Key identifies identical jobs: a hash of everything above and of the configuration.
	Key string `json:"key"`
}

// Unit is one package folder to build (make package/<Name>/compile) and the packages it makes.
type Unit struct {
	Dir      string   `json:"dir"`  // slash path in the repository
	Name     string   `json:"name"` // the folder's name, what make package/<Name>/… uses
	Packages []string `json:"packages"`
}

// Name is the job's check-run name part, "<series>/<arch>".
func (j Job) Name() string { return j.Series + "/" + j.Arch }

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
	for _, s := range series {
		for _, a := range archs {
			img, err := in.Catalogue.Image(s, a, in.Images)
			job := Job{
				Repo: in.Repo, Commit: in.Commit, Series: s, Release: img.Release, Arch: a,
				Image: img.Ref, Format: img.Format, IndexJSON: img.IndexJSON,
				Packages: pkgs, Units: units, Feeds: in.Config.Feeds,
			}
			switch {
			case errors.Is(err, ErrAPKUnsupported):
				job.Unsupported = err.Error()
			case err != nil:
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
	h.Write([]byte("openwrt-ppa job v1\n"))
	h.Write(b)
	h.Write(cfgSum)
	return hex.EncodeToString(h.Sum(nil))
}
