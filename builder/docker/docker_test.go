package docker_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/builder/buildertest"
	"github.com/openwrt-ppa/openwrt-ppa/builder/docker"
	"github.com/openwrt-ppa/openwrt-ppa/builder/feedmirror"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

// repoDir writes a repository folder with one package per name → marker.
func repoDir(t testing.TB, pkgs map[string]string) string { return buildertest.RepoDir(t, pkgs) }

func writeRepo(t testing.TB, dir string, pkgs map[string]string) { buildertest.WriteRepo(t, dir, pkgs) }

type env struct {
	slog   *testenv.SyncBuffer // the executor's own log
	cli    *client.Client
	ex     *docker.Executor
	image  string
	id     string
	prefix string
	mirror *feedmirror.Mirror
}

// testMirror is a feed mirror of its own for the test, fetching the stand-in's standard feeds
// from the loopback feed server, as the service would from GitHub.
func testMirror(t testing.TB) *feedmirror.Mirror {
	t.Helper()
	srv := testenv.SharedFeedServer(t)
	m, err := feedmirror.New(feedmirror.Options{Dir: t.TempDir(), Rewrites: []feedmirror.Rewrite{{From: testenv.FeedUpstream, To: srv.URL + "/"}}})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func newEnv(t *testing.T) *env { return newBenchEnv(t) }

func newBenchEnv(t testing.TB) *env {
	t.Helper()
	image := testenv.StandinImage(t)
	cli := testenv.NeedDocker(t)
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	e := &env{cli: cli, image: image, id: id, prefix: "openwrt-ppa-test-" + id, slog: &testenv.SyncBuffer{}, mirror: testMirror(t)}
	e.ex = docker.New(cli, docker.Options{
		Network: "none", CachePrefix: e.prefix, TmpfsBuildDir: true, FeedMirror: e.mirror,
		Workspace: docker.WorkspaceVolume, // disk_test.go tests the others
		Labels:    map[string]string{testenv.TestLabel: id},
		Logger:    slog.New(slog.NewTextHandler(e.slog, nil)),
		LockDir:   t.TempDir(),
	})
	t.Cleanup(func() { e.cleanup(t) })
	return e
}

// cleanup removes what the test made and fails if a container was left behind.
func (e *env) cleanup(t testing.TB) {
	ctx := context.Background()
	f := make(client.Filters).Add("label", testenv.TestLabel+"="+e.id)
	cs, err := e.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err == nil && len(cs.Items) > 0 {
		t.Errorf("%d build containers left behind", len(cs.Items))
		for _, c := range cs.Items {
			_, _ = e.cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		}
	}
	vs, err := e.cli.VolumeList(ctx, client.VolumeListOptions{Filters: f})
	if err == nil {
		for _, v := range vs.Items {
			_, _ = e.cli.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true})
		}
	}
}

// volumes lists the names of the volumes labelled label ("key=value"), sorted.
func (e *env) volumes(t testing.TB, label string) []string {
	t.Helper()
	vs, err := e.cli.VolumeList(context.Background(), client.VolumeListOptions{Filters: make(client.Filters).Add("label", label)})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, v := range vs.Items {
		names = append(names, v.Name)
	}
	sort.Strings(names)
	return names
}

// job plans the repository in dir for series/x86_64 in the stand-in image.
func (e *env) job(t testing.TB, dir, series string) builder.Job {
	t.Helper()
	return buildertest.StandinJob(t, dir, e.image, series)
}

type lines struct {
	mu sync.Mutex
	l  []string
	n  int64
}

func (s *lines) Line(l string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.l = append(s.l, l)
	s.n += int64(len(l)) + 1
}

func (s *lines) text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.l, "\n")
}

func (e *env) run(t *testing.T, job builder.Job, dir string, limits builder.Limits) (builder.Result, *lines, string) {
	t.Helper()
	res, log, out, err := e.exec(t.TempDir(), job, dir, limits)
	if err != nil {
		t.Fatalf("execute: %v\nlog:\n%s", err, log.text())
	}
	return res, log, out
}

// exec runs a job; safe in other goroutines than the test's.
func (e *env) exec(out string, job builder.Job, dir string, limits builder.Limits) (builder.Result, *lines, string, error) {
	log := &lines{}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := builder.Execute(ctx, e.ex, builder.JobSpec{Job: job, SourceDir: dir, Limits: limits, Log: log}, out)
	return res, log, out, err
}

func byName(res builder.Result) map[string]builder.PackageResult {
	m := map[string]builder.PackageResult{}
	for _, p := range res.Packages {
		m[p.Name] = p
	}
	return m
}

func TestThreePackagesOneFails(t *testing.T) {
	e := newEnv(t)
	dir := repoDir(t, map[string]string{"alpha": "", "beta": "", "broken": "fail", "mipsonly": "only-arch mips_24kc"})
	job := e.job(t, dir, "24.10")
	job.Feeds = []builder.ExtraFeed{{Name: "extra", URL: "https://example.org/extra.git", Ref: "main"}}
	// An extra feed is cloned by the build, which needs a network for it (the fetch phase's);
	// the standard feeds come from the mirror.
	e.ex = docker.New(e.cli, docker.Options{Network: "bridge", CachePrefix: e.prefix, TmpfsBuildDir: true, FeedMirror: e.mirror,
		Labels: map[string]string{testenv.TestLabel: e.id}, Logger: slog.New(slog.NewTextHandler(e.slog, nil)), LockDir: t.TempDir()})
	res, log, out := e.run(t, job, dir, builder.Limits{Timeout: time.Minute})
	// A release image keeps setup.sh, which would download the whole SDK again.
	if strings.Contains(log.text(), "setup.sh: downloading") || strings.Contains(log.text(), "step setup") {
		t.Errorf("setup.sh ran in a release image that has the SDK:\n%s", log.text())
	}
	if !strings.Contains(log.text(), "Updating feed 'extra' from 'https://example.org/extra.git;main'") {
		t.Errorf("the extra feed did not reach feeds.conf:\n%s", log.text())
	}

	if res.Status != builder.JobFailed {
		t.Fatalf("status %s (%s), want failed\nlog:\n%s", res.Status, res.Message, log.text())
	}
	got := byName(res)
	for _, name := range []string{"alpha", "beta"} {
		p := got[name]
		if p.Status != builder.PackageBuilt || len(p.Files) != 1 {
			t.Errorf("%s: %+v, want built with one file", name, p)
			continue
		}
		if want := filepath.Join(out, "packages", name+"_1.0-r1_x86_64.ipk"); p.Files[0] != want {
			t.Errorf("%s file %s, want %s", name, p.Files[0], want)
		}
	}
	b := got["broken"]
	if b.Status != builder.PackageFailed || b.Step != "compile" || !strings.Contains(strings.Join(b.Log, "\n"), "fails on purpose") {
		t.Errorf("broken: %+v, want failed at compile with its log", b)
	}
	if m := got["mipsonly"]; m.Status != builder.PackageSkipped || !strings.Contains(m.Reason, "not available for x86_64") {
		t.Errorf("mipsonly: %+v, want skipped as not available", m)
	}
	if len(res.Files) != 2 {
		t.Errorf("collected %v, want two package files", res.Files)
	}
	if !strings.Contains(log.text(), "::openwrt-ppa:: package broken compile failed") {
		t.Errorf("the streamed log lacks the failure marker:\n%s", log.text())
	}
}

func TestTimeoutKillsTheBuild(t *testing.T) {
	e := newEnv(t)
	dir := repoDir(t, map[string]string{"sleepy": "hang"})
	start := time.Now()
	// The limit leaves time to reach compile on a loaded machine (feeds update indexes the five
	// mirrored feeds first).
	res, log, _ := e.run(t, e.job(t, dir, "24.10"), dir, builder.Limits{Timeout: 8 * time.Second})
	if res.Status != builder.JobTimedOut || !res.Exit.TimedOut {
		t.Fatalf("status %s (%s), want timed out\nlog:\n%s", res.Status, res.Message, log.text())
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("the build ran %s past an 8s limit", took)
	}
	p := byName(res)["sleepy"]
	if p.Status != builder.PackageFailed || p.Step != "compile" || !strings.Contains(p.Reason, "time limit") {
		t.Errorf("sleepy: %+v, want failed at compile by the time limit", p)
	}
	if !strings.Contains(strings.Join(p.Log, "\n"), "hanging (STANDIN: hang)") {
		t.Errorf("sleepy's log does not show what it was doing: %q", p.Log)
	}
	// cleanup (registered by newEnv) fails the test if the container is still there.
}

func TestHostileOutputsAndLogFlood(t *testing.T) {
	e := newEnv(t)
	dir := repoDir(t, map[string]string{"linky": "symlink", "noisy": "flood", "fat": "bigfile"})
	const logCap = 256 << 10
	res, log, out := e.run(t, e.job(t, dir, "24.10"), dir, builder.Limits{Timeout: time.Minute, LogBytes: logCap, FileBytes: 8 << 20})
	if res.Status != builder.JobSucceeded {
		t.Fatalf("status %s (%s)\nrefused %v", res.Status, res.Message, res.Refused)
	}
	// The sink got at most the cap plus the kept tail, and the tail ends with the driver's last line.
	buildertest.CheckHostileOutputs(t, res, out, logCap, log.n, log.text(), "::openwrt-ppa:: done")
}

func TestForkBombAndDiskFillAreContained(t *testing.T) {
	e := newEnv(t)
	hostile := repoDir(t, map[string]string{"a-filler": "diskfill", "z-bomb": "forkbomb"})
	calm := repoDir(t, map[string]string{"calm": ""})
	var wg sync.WaitGroup
	var calmRes builder.Result
	var calmErr error
	calmJob, calmOut := e.job(t, calm, "23.05"), t.TempDir()
	wg.Add(1)
	go func() {
		defer wg.Done()
		time.Sleep(2 * time.Second) // start while the bomb is going off
		calmRes, _, _, calmErr = e.exec(calmOut, calmJob, calm, builder.Limits{Timeout: time.Minute})
	}()
	res, log, _ := e.run(t, e.job(t, hostile, "24.10"), hostile, builder.Limits{
		Timeout: 20 * time.Second, Pids: 128, NanoCPUs: 1e9, MemoryBytes: 256 << 20, WorkspaceSize: 16 << 20,
	})
	wg.Wait()
	if res.Status != builder.JobTimedOut {
		t.Errorf("hostile job %s (%s), want timed out", res.Status, res.Message)
	}
	got := byName(res)
	if f := got["a-filler"]; f.Status != builder.PackageFailed || f.Step != "compile" || !strings.Contains(strings.Join(f.Log, "\n"), "No space left on device") {
		t.Errorf("a-filler: %+v, want failed at compile with a full disk\nlog:\n%s", f, log.text())
	}
	if b := got["z-bomb"]; b.Status != builder.PackageFailed || !strings.Contains(b.Reason, "time limit") {
		t.Errorf("z-bomb: %+v, want killed at the time limit", b)
	}
	if calmErr != nil || calmRes.Status != builder.JobSucceeded {
		t.Errorf("a job next to the hostile one: %s (%s) %v, want succeeded", calmRes.Status, calmRes.Message, calmErr)
	}
}

func TestWarmRebuildReusesCacheVolumes(t *testing.T) {
	e := newEnv(t)
	dir := repoDir(t, map[string]string{"cached": ""})
	job := e.job(t, dir, "24.10")
	volumes := func() []string { return e.volumes(t, testenv.TestLabel+"="+e.id) }

	first, log1, _ := e.run(t, job, dir, builder.Limits{Timeout: time.Minute})
	if first.Status != builder.JobSucceeded || !strings.Contains(log1.text(), "downloading cached-1.0.tar.gz") {
		t.Fatalf("first build %s (%s)\n%s", first.Status, first.Message, log1.text())
	}
	dlVol, feedsVol := e.ex.CacheVolumes("", "24.10", "x86_64")
	if got := volumes(); !reflect.DeepEqual(got, []string{dlVol, feedsVol}) {
		t.Fatalf("volumes after the first build %v, want %s and %s", got, dlVol, feedsVol)
	}
	second, log2, _ := e.run(t, job, dir, builder.Limits{Timeout: time.Minute})
	if second.Status != builder.JobSucceeded {
		t.Fatalf("second build %s (%s)", second.Status, second.Message)
	}
	if got := volumes(); !reflect.DeepEqual(got, []string{dlVol, feedsVol}) {
		t.Errorf("volumes after the second build %v, want the same two", got)
	}
	starts := regexp.MustCompile(`cache_reused=(true|false)`).FindAllStringSubmatch(e.slog.String(), -1)
	if len(starts) != 2 || starts[0][1] != "false" || starts[1][1] != "true" {
		t.Errorf("the executor reported cache reuse %v, want false then true", starts)
	}
	text := log2.text()
	if !strings.Contains(text, "dl/cached-1.0.tar.gz: using the cached download") || !strings.Contains(text, "Updating feed 'packages' from '/openwrt-ppa/feedmirror/packages'") {
		t.Errorf("the warm build did not use the cached dl/ and feeds/:\n%s", text)
	}
}

func TestCancelKillsAndRemoves(t *testing.T) {
	e := newEnv(t)
	dir := repoDir(t, map[string]string{"sleepy": "hang"})
	job := e.job(t, dir, "24.10")
	ctx, cancel := context.WithCancel(context.Background())
	log := &lines{}
	go func() {
		// Cancel once the package is compiling.
		for !strings.Contains(log.text(), "hanging (STANDIN: hang)") {
			time.Sleep(50 * time.Millisecond)
		}
		cancel()
	}()
	res, err := builder.Execute(ctx, e.ex, builder.JobSpec{Job: job, SourceDir: dir, Limits: builder.Limits{Timeout: time.Minute}, Log: log}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	buildertest.CheckCanceledInCompile(t, res, "sleepy")
	// cleanup (registered by newEnv) fails the test if the container is still there.
}

func TestStartRefusesBadInput(t *testing.T) {
	e := newEnv(t)
	dir := repoDir(t, map[string]string{"ok": ""})
	good := e.job(t, dir, "24.10")
	cases := map[string]func(j *builder.Job, s *builder.JobSpec){
		"unit name":    func(j *builder.Job, _ *builder.JobSpec) { j.Units[0].Name = "x;rm -rf /" },
		"package name": func(j *builder.Job, _ *builder.JobSpec) { j.Units[0].Packages = []string{"A B"} },
		"feed name":    func(_ *builder.Job, s *builder.JobSpec) { s.FeedName = "feed\nsrc-git x y" },
		"extra feed": func(j *builder.Job, _ *builder.JobSpec) {
			j.Feeds = []builder.ExtraFeed{{Name: "x", URL: "https://a b"}}
		},
		"no image": func(j *builder.Job, _ *builder.JobSpec) { j.Image = "openwrt-ppa/no-such-image:1" },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			j := good
			j.Units = append([]builder.Unit(nil), good.Units...)
			spec := builder.JobSpec{SourceDir: dir}
			mutate(&j, &spec)
			spec.Job = j
			if run, err := e.ex.Start(context.Background(), spec); err == nil {
				_ = run.Close(context.Background())
				t.Fatal("Start accepted it")
			}
		})
	}
}

// writeFiles writes path → content below dir.
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for path, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// TestHonestFailures: a Makefile that does not parse, a download that does not match its hash,
// a nonshared package and a package with build variants, as the real SDK handles them.
func TestHonestFailures(t *testing.T) {
	e := newEnv(t)
	dir := repoDir(t, map[string]string{"good": "", "mipsonly": "only-arch mips_24kc"})
	mk := func(name string) string { return testenv.PackageMakefile(name, "1.0", "") }
	writeFiles(t, dir, map[string]string{
		// make DUMP=1 fails on it; scripts/feeds leaves it out of the index and exits 0.
		"net/broken-mk/Makefile":          strings.Replace(mk("broken-mk"), "include $(INCLUDE_DIR)/package.mk\n", "include $(INCLUDE_DIR)/package.mk\n$(error this Makefile is broken on purpose)\n", 1),
		"net/broken-mk/files/x":           "x",
		"net/badhash/Makefile":            strings.Replace(mk("badhash"), "PKG_RELEASE:=1\n", "PKG_RELEASE:=1\nPKG_HASH:="+strings.Repeat("0", 64)+"\n", 1),
		"net/badhash/files/badhash":       "#!/bin/sh\n",
		"net/shared-not/Makefile":         strings.Replace(mk("shared-not"), "PKG_RELEASE:=1\n", "PKG_RELEASE:=1\nPKG_FLAGS:=nonshared\n", 1),
		"net/shared-not/files/shared-not": "#!/bin/sh\n",
		"net/variety/Makefile": `include $(TOPDIR)/rules.mk
PKG_NAME:=variety
PKG_VERSION:=1.0
PKG_RELEASE:=1
include $(INCLUDE_DIR)/package.mk
define Package/variety-full
  TITLE:=full
  VARIANT:=full
endef
define Package/variety-tiny
  TITLE:=tiny
  VARIANT:=tiny
endef
define Package/variety-full/install
	$(INSTALL_DIR) $(1)/usr/bin
	$(INSTALL_BIN) ./files/variety $(1)/usr/bin/
endef
define Package/variety-tiny/install
	$(INSTALL_DIR) $(1)/usr/bin
	$(INSTALL_BIN) ./files/missing-on-purpose $(1)/usr/bin/
endef
$(eval $(call BuildPackage,variety-full))
$(eval $(call BuildPackage,variety-tiny))
`,
		"net/variety/files/variety": "#!/bin/sh\n",
	})
	job := e.job(t, dir, "24.10")
	res, log, out := e.run(t, job, dir, builder.Limits{Timeout: time.Minute})
	got := byName(res)
	if b := got["broken-mk"]; b.Status != builder.PackageFailed || b.Step != "install" || !strings.Contains(b.Reason, "does not parse") ||
		!strings.Contains(b.Reason, "feeds/openwrt_ppa/net/broken-mk/dump.txt") || !strings.Contains(strings.Join(b.Log, "\n"), "*** this Makefile is broken on purpose.  Stop.") {
		t.Errorf("broken-mk: %+v, want failed at install with the dump log\nlog:\n%s", b, log.text())
	}
	if b := got["badhash"]; b.Status != builder.PackageFailed || b.Step != "check" || !strings.Contains(b.Reason, "the download badhash-1.0.tar.gz does not match its hash") ||
		!strings.Contains(strings.Join(b.Log, "\n"), "PKG_HASH does not match badhash-1.0.tar.gz hash") || len(b.Files) != 0 {
		t.Errorf("badhash: %+v, want failed at check naming the file", b)
	}
	if m := got["mipsonly"]; m.Status != builder.PackageSkipped || !strings.Contains(m.Reason, "not available for x86_64") {
		t.Errorf("mipsonly (parsed, not selected): %+v, want skipped as not available", m)
	}
	if s := got["shared-not"]; s.Status != builder.PackageBuilt || len(s.Files) != 1 || s.Files[0] != filepath.Join(out, "packages", "shared-not_1.0-r1_x86_64.ipk") {
		t.Errorf("shared-not (nonshared, in bin/targets): %+v, want built", s)
	}
	if g := got["good"]; g.Status != builder.PackageBuilt {
		t.Errorf("good: %+v", g)
	}
	v := got["variety-tiny"]
	if v.Status != builder.PackageFailed || v.Step != "compile" || !strings.Contains(strings.Join(v.Log, "\n"), "[variant tiny]") ||
		!strings.Contains(strings.Join(v.Log, "\n"), "missing-on-purpose") {
		t.Errorf("variety-tiny: %+v, want failed at compile with its variant's log", v)
	}
	if _, err := os.Stat(filepath.Join(out, "logs", "variety", "full", "compile.txt")); err != nil {
		t.Errorf("the per-variant log was not collected: %v", err)
	}
}

// TestSnapshotSDKIsFetchedOnce: an image without the SDK (a snapshot image: only setup.sh)
// gets it fetched by its setup.sh once, into a volume every later build of that image copies
// from; release images (every other test) never run setup.sh.
func TestSnapshotSDKIsFetchedOnce(t *testing.T) {
	e := newEnv(t)
	image := testenv.StandinSnapshotImage(t)
	// setup.sh needs a network; the stand-in's finds one on Docker's default bridge.
	ex := docker.New(e.cli, docker.Options{
		Network: "bridge", CachePrefix: e.prefix, TmpfsBuildDir: true, GitHubFeeds: true,
		Labels: map[string]string{testenv.TestLabel: e.id}, Logger: slog.New(slog.NewTextHandler(e.slog, nil)), LockDir: t.TempDir(),
	})
	dir := repoDir(t, map[string]string{"snappy": ""})
	job := e.job(t, dir, "24.10")
	job.Image = image
	for i := range 2 {
		log := &lines{}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		res, err := builder.Execute(ctx, ex, builder.JobSpec{Job: job, SourceDir: dir, Limits: builder.Limits{Timeout: time.Minute}, Log: log}, t.TempDir())
		cancel()
		if err != nil || res.Status != builder.JobSucceeded {
			t.Fatalf("build %d: %v %s (%s)\n%s\n%s", i, err, res.Status, res.Message, log.text(), e.slog.String())
		}
		text := log.text()
		if !strings.Contains(text, "step sdk (fetched once, copied from the cache)") || strings.Contains(text, "setup.sh: downloading") {
			t.Errorf("build %d did not use the fetched SDK:\n%s", i, text)
		}
		if !strings.Contains(text, "Updating feed 'packages' from 'https://github.com/openwrt/packages.git^") {
			t.Errorf("build %d: the standard feeds were not taken from GitHub:\n%s", i, text)
		}
	}
	if n := strings.Count(e.slog.String(), "fetching the SDK with the image's setup.sh"); n != 1 {
		t.Errorf("setup.sh ran %d times for two builds, want once:\n%s", n, e.slog.String())
	}
	img, err := e.cli.ImageInspect(context.Background(), image)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.cli.VolumeInspect(context.Background(), ex.SDKVolume("24.10", "x86_64", img.ID), client.VolumeInspectOptions{}); err != nil {
		t.Errorf("no SDK volume: %v", err)
	}
}

// TestCompileHasNoNetwork: with a network for downloads, the job runs in two containers on one
// workspace: download reaches the network, check and compile (the package's own code) find none.
func TestCompileHasNoNetwork(t *testing.T) {
	e := newEnv(t)
	ex := docker.New(e.cli, docker.Options{
		Network: "bridge", CachePrefix: e.prefix, TmpfsBuildDir: true, FeedMirror: e.mirror,
		Labels: map[string]string{testenv.TestLabel: e.id}, Logger: slog.New(slog.NewTextHandler(e.slog, nil)), LockDir: t.TempDir(),
	})
	dir := repoDir(t, map[string]string{"caller": "phone-home", "plain": ""})
	log := &lines{}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := builder.Execute(ctx, ex, builder.JobSpec{Job: e.job(t, dir, "24.10"), SourceDir: dir, Limits: builder.Limits{Timeout: time.Minute}, Log: log}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	text := log.text()
	if !strings.Contains(text, "phone-home: download reached the network through eth0") {
		t.Errorf("download had no network (the test proves nothing):\n%s", text)
	}
	if !strings.Contains(text, "phone-home: compile found no network (only lo)") || strings.Contains(text, "phone-home: compile reached") {
		t.Errorf("compile could reach a network:\n%s", text)
	}
	if res.Status != builder.JobSucceeded || len(res.Files) != 2 {
		t.Errorf("status %s (%s), files %v, want both built\n%s", res.Status, res.Message, res.Files, text)
	}
	if !strings.Contains(e.slog.String(), "phases=2") {
		t.Errorf("not run in two phases:\n%s", e.slog.String())
	}
}

// TestWorkspaceIsCappedAndRemoved: the job's workspace (the SDK's work dir, a VOLUME in the
// images) is a size-capped volume of its own: a build that fills it stops at the cap, and the
// volume is gone after the job, as are both phase containers.
func TestWorkspaceIsCappedAndRemoved(t *testing.T) {
	e := newEnv(t)
	ex := docker.New(e.cli, docker.Options{
		Network: "bridge", CachePrefix: e.prefix, Workspace: docker.WorkspaceTmpfs, FeedMirror: e.mirror,
		Labels: map[string]string{testenv.TestLabel: e.id}, Logger: slog.New(slog.NewTextHandler(e.slog, nil)), LockDir: t.TempDir(),
	})
	dir := repoDir(t, map[string]string{"filler": "diskfill", "a-fine": ""}) // a-fine builds first
	job := e.job(t, dir, "24.10")
	log := &lines{}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := builder.Execute(ctx, ex, builder.JobSpec{Job: job, SourceDir: dir, Limits: builder.Limits{Timeout: time.Minute, WorkspaceSize: 24 << 20}, Log: log}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	got := byName(res)
	if f := got["filler"]; f.Status != builder.PackageFailed || !strings.Contains(strings.Join(f.Log, "\n"), "No space left on device") {
		t.Errorf("filler: %+v, want stopped by the full workspace\n%s", f, log.text())
	}
	if f := got["a-fine"]; f.Status != builder.PackageBuilt {
		t.Errorf("a-fine: %+v\n%s", f, log.text())
	}
	f := make(client.Filters).Add("label", docker.LabelJob+"="+job.Key)
	if vs, err := e.cli.VolumeList(context.Background(), client.VolumeListOptions{Filters: f}); err != nil || len(vs.Items) != 0 {
		t.Errorf("workspace volumes left after the job: %v %v", vs.Items, err)
	}
	if cs, err := e.cli.ContainerList(context.Background(), client.ContainerListOptions{All: true, Filters: f}); err != nil || len(cs.Items) != 0 {
		t.Errorf("containers left after the job: %d %v", len(cs.Items), err)
	}
}

// TestImageDigest: the engine's id of an image it has; "" for one it has not, without pulling.
func TestImageDigest(t *testing.T) {
	e := newEnv(t)
	img, err := e.cli.ImageInspect(context.Background(), e.image)
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.ex.ImageDigest(context.Background(), e.image)
	if err != nil || got != img.ID || !strings.HasPrefix(got, "sha256:") {
		t.Fatalf("digest of %s: %q %v, want %s", e.image, got, err, img.ID)
	}
	got, err = e.ex.ImageDigest(context.Background(), "openwrt-ppa-test-absent-"+e.id+":1")
	if err != nil || got != "" {
		t.Fatalf("digest of an absent image: %q %v, want none", got, err)
	}
}
