package builder

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// JobStatus is how a job ended.
type JobStatus string

// Job statuses.
const (
	JobSucceeded JobStatus = "succeeded" // every package that applies to the arch was built
	JobFailed    JobStatus = "failed"    // a package or a job step failed
	JobTimedOut  JobStatus = "timed out" // killed at the wall-clock limit
	JobCanceled  JobStatus = "canceled"  // killed on request
)

// PackageStatus is how one package of a job ended.
type PackageStatus string

// Package statuses.
const (
	PackageBuilt   PackageStatus = "built"
	PackageFailed  PackageStatus = "failed"
	PackageSkipped PackageStatus = "skipped"
)

// PackageResult is the outcome of one package.
type PackageResult struct {
	Name   string
	Unit   string // the package folder's name
	Status PackageStatus
	Step   string   // the failing step (install, download, check, compile) when failed
	Reason string   // why it failed or was skipped, for people
	Log    []string // the last lines of the failing step's log
	Files  []string // its package files, absolute paths below the collect folder
	// Duration is how long its download, check and compile took (0 when not measured).
	Duration time.Duration
}

// Result is the outcome of a job.
type Result struct {
	Job      Job
	Status   JobStatus
	Message  string // one line for people
	Packages []PackageResult
	Files    []string // every collected package file (absolute paths)
	Refused  []string // outputs not collected, and why
	LogTail  []string // the last lines of the whole build log
	Exit     Exit
	Started  time.Time
	Finished time.Time
}

// Built lists the names of the packages built.
func (r Result) Built() []string {
	var out []string
	for _, p := range r.Packages {
		if p.Status == PackageBuilt {
			out = append(out, p.Name)
		}
	}
	return out
}

// unitState is what the driver's results file says about one package folder.
type unitState struct {
	status  string // start, ok, failed, skipped
	step    string
	seconds int
	reason  string // the driver's explanation of a failure, when it has one
}

// maxReason caps a reason the driver gives (it comes from the build).
const maxReason = 300

// readResults parses the driver's results file; lines about unknown folders are ignored.
func readResults(path string, units []Unit) (map[string]unitState, string, error) {
	states := map[string]unitState{}
	jobFailed := ""
	if path == "" {
		return states, "", nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, "", fmt.Errorf("reading the build results: %w", err)
	}
	defer f.Close()
	known := map[string]bool{}
	for _, u := range units {
		known[u.Name] = true
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		switch {
		case len(fields) == 3 && fields[0] == "job" && fields[1] == "failed":
			jobFailed = fields[2]
		case len(fields) >= 4 && fields[0] == "unit" && known[fields[1]] && fields[2] == "reason":
			st := states[fields[1]]
			if st.reason == "" {
				st.reason = strings.ToValidUTF8(strings.Join(fields[3:], " "), "?")
				if len(st.reason) > maxReason {
					st.reason = strings.ToValidUTF8(st.reason[:maxReason], "") + "…"
				}
			}
			states[fields[1]] = st
		case len(fields) == 4 && fields[0] == "unit" && known[fields[1]] && fields[2] == "seconds":
			st := states[fields[1]]
			if n, err := strconv.Atoi(fields[3]); err == nil && n >= 0 {
				st.seconds = n
			}
			states[fields[1]] = st
		case len(fields) == 4 && fields[0] == "unit" && known[fields[1]]:
			prev := states[fields[1]]
			if prev.status == "failed" {
				continue // the first failure is the one that explains
			}
			states[fields[1]] = unitState{status: fields[2], step: fields[3], seconds: prev.seconds, reason: prev.reason}
		}
	}
	return states, jobFailed, sc.Err()
}

// packageResults turns the driver's results and the collected files into per-package results.
func packageResults(job Job, col Collected, dir string, states map[string]unitState, jobFailed string, exit Exit) []PackageResult {
	var out []PackageResult
	for _, u := range job.Units {
		st, seen := states[u.Name]
		for _, name := range u.Packages {
			pr := PackageResult{Name: name, Unit: u.Name, Duration: time.Duration(st.seconds) * time.Second}
			for _, f := range col.Packages {
				if packageName(filepath.Base(f), job.Arch, u.Packages) == name {
					pr.Files = append(pr.Files, filepath.Join(dir, f))
				}
			}
			switch {
			case seen && st.status == "skipped":
				pr.Status, pr.Reason = PackageSkipped, "not available for "+job.Arch+" (make defconfig did not select it)"
			case seen && st.status == "ok" && len(pr.Files) > 0:
				pr.Status = PackageBuilt
			case seen && st.status == "ok":
				pr.Status, pr.Step, pr.Reason = PackageSkipped, "compile", "the build made no package file for it (not selected for "+job.Arch+")"
			case seen && st.status == "failed" && st.reason != "":
				pr.Status, pr.Step, pr.Reason = PackageFailed, st.step, st.step+" failed: "+st.reason
			case seen && st.status == "failed":
				pr.Status, pr.Step, pr.Reason = PackageFailed, st.step, st.step+" failed"
			case seen && st.status == "start" && exit.TimedOut:
				pr.Status, pr.Step, pr.Reason = PackageFailed, st.step, "killed at the time limit during "+st.step
			case seen && st.status == "start" && exit.Canceled:
				pr.Status, pr.Step, pr.Reason = PackageFailed, st.step, "canceled during "+st.step
			case seen && st.status == "start":
				pr.Status, pr.Step, pr.Reason = PackageFailed, st.step, fmt.Sprintf("the build stopped during %s (exit status %d)", st.step, exit.Code)
			case jobFailed != "":
				pr.Status, pr.Step, pr.Reason = PackageFailed, jobFailed, "not built: the job step "+jobFailed+" failed"
			case exit.TimedOut:
				pr.Status, pr.Reason = PackageFailed, "not built: the job was killed at the time limit"
			case exit.Canceled:
				pr.Status, pr.Reason = PackageFailed, "not built: the job was canceled"
			default:
				pr.Status, pr.Reason = PackageFailed, fmt.Sprintf("not built: the build ended (exit status %d) before reaching it", exit.Code)
			}
			if pr.Status == PackageFailed && pr.Step != "" {
				pr.Log = stepLog(col, dir, u.Name, pr.Step)
			}
			out = append(out, pr)
		}
	}
	return out
}

// stepLog returns the end of a unit's log of step: its own, or those of its build variants
// (logs/package/feeds/<feed>/<unit>/<variant>/<step>.txt), each under a heading.
func stepLog(col Collected, dir, unit, step string) []string {
	if p, ok := col.Logs[unit+"/"+step]; ok {
		return fileTail(filepath.Join(dir, p), 30)
	}
	var variants []string
	for key := range col.Logs {
		v, ok := strings.CutPrefix(key, unit+"/")
		if !ok {
			continue // another unit's log
		}
		if v, ok = strings.CutSuffix(v, "/"+step); ok && !strings.Contains(v, "/") {
			variants = append(variants, v)
		}
	}
	sort.Strings(variants)
	var out []string
	for _, v := range variants {
		out = append(out, "[variant "+v+"]")
		out = append(out, fileTail(filepath.Join(dir, col.Logs[unit+"/"+v+"/"+step]), max(5, 30/len(variants)))...)
	}
	return out
}

// packageName returns which of names a package file is: packageOfFile for an .ipk,
// apkPackageOfFile for an .apk. "" when it is none of them.
func packageName(file, arch string, names []string) string {
	if strings.HasSuffix(file, ".apk") {
		return apkPackageOfFile(file, names)
	}
	return packageOfFile(file, arch)
}

// apkVersionRe is the shape of an apk version in a file name: it starts with a digit and holds
// no "-" but before the release ("-r1"), so "<name>-<version>.apk" splits one way only.
var apkVersionRe = regexp.MustCompile(`^[0-9][0-9A-Za-z._~+]*(-r[0-9]+)?$`)

// apkPackageOfFile returns which of names "<name>-<version>.apk" (apk's default file name, as
// the 25.12 SDK writes it) is; names may hold "-", so the file is matched against each.
func apkPackageOfFile(file string, names []string) string {
	base, ok := strings.CutSuffix(file, ".apk")
	if !ok {
		return ""
	}
	best := ""
	for _, n := range names {
		if v, ok := strings.CutPrefix(base, n+"-"); ok && apkVersionRe.MatchString(v) && len(n) > len(best) {
			best = n
		}
	}
	return best
}

// packageOfFile returns the package name of "<name>_<version>_<arch>.ipk" (or arch "all");
// names may hold "_", versions do not. "" when the file is not named so.
func packageOfFile(file, arch string) string {
	base, ok := strings.CutSuffix(file, ".ipk")
	if !ok {
		return ""
	}
	rest, ok := strings.CutSuffix(base, "_"+arch)
	if !ok {
		if rest, ok = strings.CutSuffix(base, "_all"); !ok {
			return ""
		}
	}
	i := strings.LastIndexByte(rest, '_')
	if i <= 0 {
		return ""
	}
	return rest[:i]
}

// fileTail returns the last n lines of a (size-capped) collected log file.
func fileTail(path string, n int) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for i, l := range lines {
		if len(l) > MaxLineBytes {
			lines[i] = l[:MaxLineBytes]
		}
	}
	return lines
}
