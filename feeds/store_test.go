package feeds_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/feedstest"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/usign"
)

// clock is a settable clock for grace-period tests.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

type storeEnv struct {
	store *feeds.Store
	key   *usign.SecretKey
	src   string // where test packages are written before publishing
	clock *clock
}

func newStoreEnv(t testing.TB, opt feeds.StoreOptions) *storeEnv {
	t.Helper()
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	if opt.Now == nil {
		opt.Now = c.now
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := feeds.OpenStore(t.TempDir(), opt)
	if err != nil {
		t.Fatal(err)
	}
	k, err := usign.Generate(nil, "test")
	if err != nil {
		t.Fatal(err)
	}
	return &storeEnv{store: s, key: k, src: t.TempDir(), clock: c}
}

// pkg writes a package to the source folder and returns its path; payload makes rebuilds of the
// same version differ.
func (e *storeEnv) pkg(t testing.TB, name, version, arch, payload string) string {
	t.Helper()
	p := filepath.Join(e.src, fmt.Sprintf("%s_%s_%s-%x.ipk", name, version, arch, sha256.Sum256([]byte(payload))))
	if err := os.WriteFile(p, feedstest.IPK(feedstest.Control(name, version, arch), []byte(payload)), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func (e *storeEnv) publish(t testing.TB, ref feeds.FeedRef, req feeds.PublishRequest) *feeds.PublishResult {
	t.Helper()
	req.Signer = e.key
	res, err := e.store.Publish(context.Background(), ref, req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

var mainRef = feeds.FeedRef{Owner: "Alice", Repo: "Pkgs", Kind: feeds.BranchFeed, Name: "main", Series: "24.10", Arch: "x86_64"}

// checkFeed verifies a feed folder as a router would: the signature matches Packages, Packages.gz
// decompresses to Packages, and every entry downloads with its size and SHA256sum. It returns the
// listed "name version" pairs.
func checkFeed(t testing.TB, dir string, pub *usign.PublicKey) []string {
	t.Helper()
	packages := mustRead(t, filepath.Join(dir, "Packages"))
	sig, err := usign.ParseSignature(mustRead(t, filepath.Join(dir, "Packages.sig")))
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Verify(packages, sig); err != nil {
		t.Fatalf("signature: %v", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(mustRead(t, filepath.Join(dir, "Packages.gz"))))
	if err != nil {
		t.Fatal(err)
	}
	unz, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(unz, packages) {
		t.Fatalf("Packages.gz does not decompress to Packages: %v", err)
	}
	return checkEntries(t, dir, packages)
}

func checkEntries(t testing.TB, dir string, packages []byte) []string {
	t.Helper()
	var listed []string
	for _, st := range parseStanzas(packages) {
		data, err := os.ReadFile(filepath.Join(dir, st["Filename"]))
		if err != nil {
			t.Fatalf("entry %s cannot be downloaded: %v", st["Filename"], err)
		}
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != st["SHA256sum"] || fmt.Sprint(len(data)) != st["Size"] {
			t.Fatalf("entry %s: size or SHA256sum does not match the file", st["Filename"])
		}
		listed = append(listed, st["Package"]+" "+st["Version"])
	}
	return listed
}

func parseStanzas(b []byte) []map[string]string {
	var out []map[string]string
	cur := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if len(cur) > 0 {
				out = append(out, cur)
			}
			cur = map[string]string{}
			continue
		}
		if k, v, ok := strings.Cut(line, ": "); ok && !strings.HasPrefix(line, " ") {
			cur[k] = v
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

func feedDir(t testing.TB, s *feeds.Store, ref feeds.FeedRef) string {
	rel, err := ref.Dir()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(s.Root(), filepath.FromSlash(rel))
}

func TestPublishLifecycle(t *testing.T) {
	e := newStoreEnv(t, feeds.StoreOptions{Grace: time.Hour})
	dir := feedDir(t, e.store, mainRef)
	pub := e.key.Public()

	res := e.publish(t, mainRef, feeds.PublishRequest{Add: []string{
		e.pkg(t, "foo", "1.0-1", "x86_64", "a"),
		e.pkg(t, "bar", "2.0-1", "all", "b"),
	}})
	if len(res.Added) != 2 || len(res.Refused) != 0 || res.URLPath != "/alice/pkgs/main/24.10/x86_64/" {
		t.Fatalf("first publish: %+v", res)
	}
	if got := strings.Join(checkFeed(t, dir, pub), ","); got != "bar 2.0-1,foo 1.0-1" {
		t.Fatalf("index lists %s", got)
	}

	// A newer foo replaces the older; the old file stays for the grace period.
	res = e.publish(t, mainRef, feeds.PublishRequest{Add: []string{e.pkg(t, "foo", "1.1-1", "x86_64", "a2")}})
	if got := strings.Join(checkFeed(t, dir, pub), ","); got != "bar 2.0-1,foo 1.1-1" {
		t.Fatalf("index lists %s", got)
	}
	if len(res.Removed) != 1 || res.Removed[0].Version != "1.0-1" {
		t.Fatalf("removed: %+v", res.Removed)
	}
	old := filepath.Join(dir, "foo_1.0-1_x86_64.ipk")
	if _, err := os.Stat(old); err != nil {
		t.Fatalf("superseded file deleted before its grace period: %v", err)
	}

	// The same version rebuilt with other bytes gets its own file name: the old file, listed by
	// the previous index, is never overwritten.
	before := mustRead(t, filepath.Join(dir, "foo_1.1-1_x86_64.ipk"))
	e.publish(t, mainRef, feeds.PublishRequest{Add: []string{e.pkg(t, "foo", "1.1-1", "x86_64", "rebuilt")}})
	if !bytes.Equal(before, mustRead(t, filepath.Join(dir, "foo_1.1-1_x86_64.ipk"))) {
		t.Fatal("a file listed by the previous index changed")
	}
	if got := strings.Join(checkFeed(t, dir, pub), ","); got != "bar 2.0-1,foo 1.1-1" {
		t.Fatalf("index lists %s", got)
	}

	// Removing a package; then, past the grace period, retired files go.
	e.clock.t = e.clock.t.Add(2 * time.Hour)
	e.publish(t, mainRef, feeds.PublishRequest{Remove: []string{"bar"}})
	if got := strings.Join(checkFeed(t, dir, pub), ","); got != "foo 1.1-1" {
		t.Fatalf("index lists %s", got)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Fatalf("retired file kept past the grace period: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "bar_2.0-1_all.ipk")); err != nil {
		t.Fatalf("a just-removed file must stay for the grace period: %v", err)
	}

	// A new Store (another process, or a restart) reads the feed back from its manifest.
	s2, err := feeds.OpenStore(e.store.Root(), feeds.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	list, err := s2.List(context.Background(), mainRef)
	if err != nil || len(list) != 1 || list[0].Name != "foo" {
		t.Fatalf("List after reopening: %+v, %v", list, err)
	}
}

func TestPublishKeepVersions(t *testing.T) {
	e := newStoreEnv(t, feeds.StoreOptions{KeepVersions: 2})
	for _, v := range []string{"1.9-1", "1.10-1", "1.2-1"} {
		e.publish(t, mainRef, feeds.PublishRequest{Add: []string{e.pkg(t, "foo", v, "x86_64", v)}})
	}
	got := checkFeed(t, feedDir(t, e.store, mainRef), e.key.Public())
	if strings.Join(got, ",") != "foo 1.10-1,foo 1.9-1" {
		t.Fatalf("kept %v, want the two newest by opkg's version order", got)
	}
}

func TestPublishRefusals(t *testing.T) {
	e := newStoreEnv(t, feeds.StoreOptions{})
	bad := filepath.Join(e.src, "bad.ipk")
	os.WriteFile(bad, feedstest.IPK("Package: evil\nVersion: 1\nArchitecture: x86_64\nDescription: x\n\nPackage: forged\n", nil), 0o644)
	notIPK := filepath.Join(e.src, "junk.ipk")
	os.WriteFile(notIPK, []byte("junk"), 0o644)
	good := e.pkg(t, "good", "1", "x86_64", "g")
	res := e.publish(t, mainRef, feeds.PublishRequest{Add: []string{
		good, bad, notIPK,
		e.pkg(t, "other-arch", "1", "mips_24kc", "m"),
		e.pkg(t, "kmod-foo", "6.6-1", "x86_64", "k"),
		e.pkg(t, "good", "1", "x86_64", "dup"),
	}})
	want := map[string]string{
		bad:    "blank line",
		notIPK: "neither a gzipped tar",
	}
	if len(res.Refused) != 5 {
		t.Fatalf("refused %d, want 5: %+v", len(res.Refused), res.Refused)
	}
	for _, r := range res.Refused {
		if w, ok := want[r.File]; ok && !strings.Contains(r.Reason, w) {
			t.Errorf("%s refused for %q, want %q", r.File, r.Reason, w)
		}
		if r.Reason == "" {
			t.Errorf("%s refused without a reason", r.File)
		}
	}
	if got := checkFeed(t, feedDir(t, e.store, mainRef), e.key.Public()); strings.Join(got, ",") != "good 1" {
		t.Fatalf("index lists %v", got)
	}
}

func TestRemoveRef(t *testing.T) {
	e := newStoreEnv(t, feeds.StoreOptions{})
	ref := mainRef
	ref.Name = "feature/x"
	e.publish(t, ref, feeds.PublishRequest{Add: []string{e.pkg(t, "foo", "1", "x86_64", "a")}})
	dir := feedDir(t, e.store, ref)
	if !strings.Contains(dir, "feature~x") {
		t.Fatalf("branch folder %s", dir)
	}
	if err := e.store.RemoveRef(context.Background(), ref); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("feed still there: %v", err)
	}
	if err := e.store.RemoveRef(context.Background(), ref); err != nil {
		t.Fatalf("removing twice: %v", err)
	}
	ents, _ := os.ReadDir(filepath.Join(e.store.Root(), "alice", "pkgs"))
	for _, de := range ents {
		t.Errorf("left behind: %s", de.Name())
	}
}

func TestPublishNeedsSigner(t *testing.T) {
	e := newStoreEnv(t, feeds.StoreOptions{})
	if _, err := e.store.Publish(context.Background(), mainRef, feeds.PublishRequest{}); err == nil {
		t.Fatal("published without a signer")
	}
	bad := mainRef
	bad.Owner = "../etc"
	if _, err := e.store.Publish(context.Background(), bad, feeds.PublishRequest{Signer: e.key}); err == nil {
		t.Fatal("published to an owner with ..")
	}
}

func TestSweep(t *testing.T) {
	e := newStoreEnv(t, feeds.StoreOptions{Grace: time.Hour})
	e.publish(t, mainRef, feeds.PublishRequest{Add: []string{e.pkg(t, "foo", "1", "x86_64", "a")}})
	e.publish(t, mainRef, feeds.PublishRequest{Add: []string{e.pkg(t, "foo", "2", "x86_64", "b")}})
	dir := feedDir(t, e.store, mainRef)
	old := filepath.Join(dir, "foo_1_x86_64.ipk")
	if n, err := e.store.Sweep(context.Background()); err != nil || n != 0 {
		t.Fatalf("sweep within the grace period deleted %d: %v", n, err)
	}
	e.clock.t = e.clock.t.Add(2 * time.Hour)
	if n, err := e.store.Sweep(context.Background()); err != nil || n != 1 {
		t.Fatalf("sweep after the grace period deleted %d, want 1: %v", n, err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Fatalf("retired file still there: %v", err)
	}
	if got := checkFeed(t, dir, e.key.Public()); strings.Join(got, ",") != "foo 2" {
		t.Fatalf("index lists %v", got)
	}
}
