package docker_test

import (
	"os/exec"
	"sort"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

// BenchmarkJobOverhead compares, side by side in one run, a whole job through the executor
// (volumes, create, start, log streaming, wait, collect, remove) with a bare
// `docker run --rm` of the same image doing the same build (the same driver script, mount and
// environment). It reports both medians, their ratio (target ≤ 1.3) and the platform overhead
// (executor − bare; target ≤ 200 ms), and platform-ms, the executor's time around the running
// container from create to outputs collected (removal excluded; it is in executor-ms). Run: go test -run '^$' -bench JobOverhead -benchtime 15x ./builder/docker
func BenchmarkJobOverhead(b *testing.B) {
	dockerCLI := testenv.NeedCommand(b, "docker")
	e := newBenchEnv(b)
	dir := benchRepo(b)
	job := e.job(b, dir, "24.10")
	units := ""
	for i, u := range job.Units {
		if i > 0 {
			units += " "
		}
		units += u.Name + ":" + u.Packages[0]
	}
	bare := func() time.Duration {
		start := time.Now()
		cmd := exec.Command(dockerCLI, "run", "--rm", "--network", "none", "--user", "1000:1000",
			"--label", testenv.TestLabel+"="+e.id,
			"-v", dir+":/openwrt-ppa/src:ro",
			"-e", "OPENWRT_PPA_FEED=openwrt_ppa", "-e", "OPENWRT_PPA_SRC=/openwrt-ppa/src",
			"-e", "OPENWRT_PPA_UNITS="+units, "-e", "OPENWRT_PPA_JOBS=2",
			"--entrypoint", "/bin/sh", e.image, "-c", builder.DriverScript())
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("bare docker run: %v\n%s", err, out)
		}
		return time.Since(start)
	}
	var platform []time.Duration
	ours := func() time.Duration {
		start := time.Now()
		res, _, _, err := e.exec(b.TempDir(), job, dir, builder.Limits{Timeout: time.Minute})
		if err != nil || res.Status != builder.JobSucceeded {
			b.Fatalf("executor: %v %s %s", err, res.Status, res.Message)
		}
		took := time.Since(start)
		// Start → outputs collected (Result.Finished comes before the removal), less the time
		// the container ran: what the platform adds around the SDK's own work.
		platform = append(platform, res.Finished.Sub(res.Started)-res.Exit.Duration)
		return took
	}
	bare() // warm both paths: image layers, cache volumes
	ours()
	platform = nil
	var tb, to []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tb = append(tb, bare())
		to = append(to, ours())
	}
	b.StopTimer()
	mb, mo := median(tb), median(to)
	b.ReportMetric(float64(mb.Milliseconds()), "bare-ms")
	b.ReportMetric(float64(mo.Milliseconds()), "executor-ms")
	b.ReportMetric(float64(mo)/float64(mb), "ratio")
	b.ReportMetric(float64((mo - mb).Milliseconds()), "overhead-ms")
	b.ReportMetric(float64(median(platform).Milliseconds()), "platform-ms")
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func benchRepo(b *testing.B) string {
	dir := b.TempDir()
	writeRepo(b, dir, map[string]string{"bench": ""})
	return dir
}
