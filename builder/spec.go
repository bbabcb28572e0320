package builder

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

var (
	safeNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9+._-]{0,99}$`)
	feedNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_]{0,31}$`)
)

// ValidateSpec checks what an executor hands to the driver inside the sandbox (names that
// become paths and shell words, feeds.conf lines), after the feed name took its default. The
// planner makes specs that pass; this is the executor's own guard.
func ValidateSpec(spec JobSpec) error {
	job := spec.Job
	if !feedNameRe.MatchString(spec.FeedName) {
		return fmt.Errorf("feed name %q: use lower case letters, digits and _", spec.FeedName)
	}
	if !safeNameRe.MatchString(job.Series) || !safeNameRe.MatchString(job.Arch) {
		return fmt.Errorf("series %q or arch %q is not a plain name", job.Series, job.Arch)
	}
	if len(job.Units) == 0 {
		return errors.New("the job has no package folders to build")
	}
	for _, u := range job.Units {
		if !safeNameRe.MatchString(u.Name) {
			return fmt.Errorf("package folder name %q is not allowed", u.Name)
		}
		for _, p := range u.Packages {
			if !ValidPackageName(p) {
				return fmt.Errorf("package name %q is not allowed", p)
			}
		}
	}
	for _, f := range job.Feeds {
		if !feedNameRe.MatchString(f.Name) || strings.ContainsAny(f.URL+f.Ref, " \t\r\n;^") {
			return fmt.Errorf("extra feed %q is not allowed", f.Name)
		}
	}
	if !ValidCacheScope(spec.CacheScope) {
		return fmt.Errorf("cache scope %q: use at most 32 lower-case letters and digits", spec.CacheScope)
	}
	return nil
}

// ValidCacheScope reports whether s is a cache scope (JobSpec.CacheScope) executors accept.
func ValidCacheScope(s string) bool {
	if len(s) > 32 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// DriverEnv is the environment of the build driver (driver.sh documents each variable) for a
// validated spec: src is where the sandbox sees the repository, phase "all", "fetch" or "build".
func DriverEnv(spec JobSpec, l Limits, src, phase string) []string {
	job := spec.Job
	var units []string
	for _, u := range job.Units {
		units = append(units, u.Name+":"+strings.Join(u.Packages, ","))
	}
	var extra []string
	for _, f := range job.Feeds {
		line := "src-git " + f.Name + " " + f.URL
		switch {
		case len(f.Ref) == 40 && strings.Trim(f.Ref, "0123456789abcdef") == "":
			line += "^" + f.Ref
		case f.Ref != "":
			line += ";" + f.Ref
		}
		extra = append(extra, line)
	}
	jobs := (l.NanoCPUs + 1e9 - 1) / 1e9
	return []string{
		"OPENWRT_PPA_FEED=" + spec.FeedName,
		"OPENWRT_PPA_SRC=" + src,
		"OPENWRT_PPA_UNITS=" + strings.Join(units, " "),
		"OPENWRT_PPA_EXTRA_FEEDS=" + strings.Join(extra, "\n"),
		"OPENWRT_PPA_JOBS=" + strconv.FormatInt(jobs, 10),
		"OPENWRT_PPA_PHASE=" + phase,
	}
}
