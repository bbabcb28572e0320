package local

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/builder/buildertest"
	"github.com/openwrt-ppa/openwrt-ppa/builder/docker"
	"github.com/openwrt-ppa/openwrt-ppa/builder/feedmirror"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/adb"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/apksign"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/apktest"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

func TestSplitSource(t *testing.T) {
	cases := []struct{ in, src, ref string }{
		{"https://github.com/o/r.git", "https://github.com/o/r.git", ""},
		{"https://github.com/o/r@v1.2", "https://github.com/o/r", "v1.2"},
		{"git@github.com:o/r.git", "git@github.com:o/r.git", ""},
		{"git@github.com:o/r.git@main", "git@github.com:o/r.git", "main"},
		{"ssh://git@host/o/r.git@release", "ssh://git@host/o/r.git", "release"},
		{"./repo@feature", "./repo", "feature"},
		{"./repo@", "./repo@", ""},
		{"/srv/repo", "/srv/repo", ""},
	}
	for _, c := range cases {
		if src, ref := SplitSource(c.in); src != c.src || ref != c.ref {
			t.Errorf("SplitSource(%q) = %q, %q; want %q, %q", c.in, src, ref, c.src, c.ref)
		}
	}
}

func TestLocalFeedName(t *testing.T) {
	cases := map[string]string{
		"https://github.com/acme/my-pkgs.git": "acme_my_pkgs",
		"git@github.com:acme/pkgs.git":        "acme_pkgs",
		"/home/me/src/pkgs":                   "pkgs",
		"./x":                                 "x",
		"/":                                   "openwrt_ppa",
	}
	for in, want := range cases {
		if got := localFeedName(in); got != want {
			t.Errorf("localFeedName(%q) = %q, want %q", in, got, want)
		}
	}
}

func testRepoFiles(names map[string]string) map[string]string {
	files := map[string]string{".openwrt-ppa.yml": "series: [24.10]\narchs: [x86_64]\n"}
	for name, marker := range names {
		files["pkgs/"+name+"/Makefile"] = mk(name, marker)
		files["pkgs/"+name+"/files/readme"] = "readme of " + name + "\n"
	}
	return files
}

func mk(name, marker string) string {
	r := strings.NewReplacer("@N@", name, "@M@", marker)
	return r.Replace(`include $(TOPDIR)/rules.mk

PKG_NAME:=@N@
PKG_VERSION:=2.0
PKG_RELEASE:=3

include $(INCLUDE_DIR)/package.mk
@M@
define Package/@N@
  TITLE:=test package @N@
endef

define Package/@N@/install
	$(INSTALL_DIR) $(1)/usr/share/@N@
	$(INSTALL_DATA) ./files/readme $(1)/usr/share/@N@/
endef

$(eval $(call BuildPackage,@N@))
`)
}

// TestLocalBuildFromGitServer is the end-to-end case: a repository on a real git server
// with three packages, one failing, built in real containers of the SDK stand-in, published as a
// signed feed that signify-openbsd verifies.
func TestLocalBuildFromGitServer(t *testing.T) {
	signify := testenv.NeedCommand(t, "signify-openbsd")
	image := testenv.StandinImage(t)
	cli := testenv.NeedDocker(t)
	srv := testenv.StartGitServer(t)
	commit := srv.Commit(t, "acme/pkgs", "main", testRepoFiles(map[string]string{"alpha": "", "beta": "", "gamma": "# STANDIN: fail"}))

	b := make([]byte, 4)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	// No network: the standard feeds come from a mirror of the loopback feed server.
	mirror, err := feedmirror.New(feedmirror.Options{Dir: t.TempDir(),
		Rewrites: []feedmirror.Rewrite{{From: testenv.FeedUpstream, To: testenv.SharedFeedServer(t).URL + "/"}}})
	if err != nil {
		t.Fatal(err)
	}
	ex := docker.New(cli, docker.Options{Network: "none", CachePrefix: "openwrt-ppa-test-" + id, TmpfsBuildDir: true, FeedMirror: mirror,
		Labels: map[string]string{testenv.TestLabel: id}, LockDir: t.TempDir()})
	t.Cleanup(func() { removeTestObjects(t, cli, id) })

	out, keys := t.TempDir(), t.TempDir()
	var progress bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := Build(ctx, Options{
		Source: srv.RepoURL("acme/pkgs") + "@main", Series: []string{"24.10"}, Image: image, OutDir: out, ConfigDir: keys, CacheDir: t.TempDir(),
		BaseURL: "https://feeds.example.org/acme", Limits: builder.Limits{Timeout: time.Minute}, Executor: ex, Progress: &progress,
	})
	if err != nil {
		t.Fatalf("Build: %v\n%s", err, progress.String())
	}
	if res.Commit != commit || res.OK() {
		t.Fatalf("commit %s (want %s), OK %v (want false: gamma fails)\n%s", res.Commit, commit, res.OK(), progress.String())
	}
	feedDir := filepath.Join(out, "24.10", "x86_64")
	cmd := exec.Command(signify, "-V", "-p", filepath.Join(out, "key.pub"), "-m", filepath.Join(feedDir, "Packages"), "-x", filepath.Join(feedDir, "Packages.sig"))
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("signify-openbsd does not verify the feed: %v\n%s", err, msg)
	}
	packages, err := os.ReadFile(filepath.Join(feedDir, "Packages"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Package: alpha\nVersion: 2.0-r3\n", "Package: beta\n", "Filename: alpha_2.0-r3_x86_64.ipk\n"} {
		if !bytes.Contains(packages, []byte(want)) {
			t.Errorf("Packages lacks %q:\n%s", want, packages)
		}
	}
	if bytes.Contains(packages, []byte("gamma")) {
		t.Errorf("the failed package is in the feed:\n%s", packages)
	}
	var gamma *builder.PackageResult
	for i, p := range res.Results[0].Packages {
		if p.Name == "gamma" {
			gamma = &res.Results[0].Packages[i]
		}
	}
	if gamma == nil || gamma.Status != builder.PackageFailed || !strings.Contains(strings.Join(gamma.Log, "\n"), "fails on purpose") {
		t.Errorf("gamma: %+v, want failed with its log", gamma)
	}
	if !strings.Contains(progress.String(), "FAILED  gamma: compile failed") {
		t.Errorf("progress does not report the failure:\n%s", progress.String())
	}
	wantLines := []string{
		"echo 'src/gz acme_pkgs_2410 https://feeds.example.org/acme/24.10/x86_64' >> /etc/opkg/customfeeds.conf",
		"wget -O /etc/opkg/keys/" + res.Fingerprint + " https://feeds.example.org/acme/key.pub",
		"opkg update",
	}
	if strings.Join(res.Lines, "\n") != strings.Join(wantLines, "\n") {
		t.Errorf("router lines:\n%s\nwant:\n%s", strings.Join(res.Lines, "\n"), strings.Join(wantLines, "\n"))
	}
	// The secret key stays in the configuration folder, never in the published folder.
	err = filepath.Walk(out, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			if b, _ := os.ReadFile(p); bytes.Contains(b, []byte("secret key")) {
				t.Errorf("%s holds a secret key", p)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(keys, "key-build")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("default key: %v %v", fi, err)
	}
}

func removeTestObjects(t *testing.T, cli *client.Client, id string) {
	ctx := context.Background()
	f := make(client.Filters).Add("label", testenv.TestLabel+"="+id)
	if cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f}); err == nil {
		if len(cs.Items) > 0 {
			t.Errorf("%d build containers left behind", len(cs.Items))
		}
		for _, c := range cs.Items {
			_, _ = cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true})
		}
	}
	if vs, err := cli.VolumeList(ctx, client.VolumeListOptions{Filters: f}); err == nil {
		for _, v := range vs.Items {
			_, _ = cli.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true})
		}
	}
}

// TestLocalBuildWithFakeExecutor covers the orchestration without Docker: an opkg and an apk
// series each get their feed, key and router lines, and a rebuild replaces the feed folder.
func TestLocalBuildWithFakeExecutor(t *testing.T) {
	dir, _ := testenv.GitRepo(t, map[string]string{"pkgs/alpha/Makefile": mk("alpha", ""), "pkgs/alpha/files/readme": "x\n"})
	ex := &buildertest.Executor{APK: apktest.APK}
	out := t.TempDir()
	res, err := Build(context.Background(), Options{
		Source: dir, Series: []string{"24.10", "25.12"}, Archs: []string{"mips_24kc"}, OutDir: out, ConfigDir: t.TempDir(),
		CacheDir: t.TempDir(), Executor: ex,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Results) != 2 || !res.OK() {
		t.Fatalf("results %+v", res.Results)
	}
	if len(res.Feeds) != 2 || strings.Join(res.Feeds[0].Packages, ",") != "alpha" || strings.Join(res.Feeds[1].Packages, ",") != "alpha" {
		t.Fatalf("feeds %+v", res.Feeds)
	}
	name := localFeedName(dir)
	wantLines := []string{
		"echo 'src/gz " + name + "_2410 " + PlaceholderBaseURL + "/24.10/mips_24kc' >> /etc/opkg/customfeeds.conf",
		"wget -O /etc/opkg/keys/" + res.Fingerprint + " " + PlaceholderBaseURL + "/key.pub",
		"opkg update",
		"wget -O /etc/apk/keys/" + name + ".pem " + PlaceholderBaseURL + "/key.pem",
		"echo '" + PlaceholderBaseURL + "/25.12/mips_24kc/packages.adb' >> /etc/apk/repositories.d/customfeeds.list",
		"apk update",
	}
	if strings.Join(res.Lines, "\n") != strings.Join(wantLines, "\n") {
		t.Errorf("router lines:\n%s\nwant:\n%s", strings.Join(res.Lines, "\n"), strings.Join(wantLines, "\n"))
	}
	// The apk feed is signed with the key published beside it.
	pemText, err := os.ReadFile(filepath.Join(out, "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := apksign.ParsePublicKey(pemText)
	if err != nil || pub.ID.String() != res.APKKeyID {
		t.Fatalf("key.pem: %v (id %v, want %s)", err, pub, res.APKKeyID)
	}
	adbFile, err := os.ReadFile(filepath.Join(out, "25.12", "mips_24kc", "packages.adb"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := adb.ReadFile(bytes.NewReader(adbFile), adb.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Verify(f); err != nil {
		t.Fatalf("packages.adb does not verify with key.pem: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, "25.12", "mips_24kc", "alpha-1.0-r1.apk")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "24.10", "mips_24kc", "alpha_1.0-r1_mips_24kc.ipk")); err != nil {
		t.Fatal(err)
	}
	if ex.Open() != 0 {
		t.Fatalf("%d runs left open", ex.Open())
	}
}
