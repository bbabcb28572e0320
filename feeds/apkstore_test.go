package feeds_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/adb"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/apksign"
)

var apkRef = feeds.FeedRef{Owner: "Alice", Repo: "Pkgs", Kind: feeds.BranchFeed, Name: "main", Series: "25.12", Arch: "x86_64"}

type apkEnv struct {
	*storeEnv
	akey *apksign.SecretKey
}

func newAPKEnv(t testing.TB, opt feeds.StoreOptions) *apkEnv {
	t.Helper()
	k, err := apksign.Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &apkEnv{storeEnv: newStoreEnv(t, opt), akey: k}
}

// apk writes a package to the source folder under a name unlike the feed's; payload makes
// rebuilds of the same version differ.
func (e *apkEnv) apk(t testing.TB, name, version, arch, payload string) string {
	t.Helper()
	spec := feeds.APKSpec{Info: feeds.APKInfo{Name: name, Version: version, Arch: arch, Description: "test package " + name},
		Files: []feeds.APKFile{{Path: "usr/share/" + name, Data: []byte(payload)}}}
	p := filepath.Join(e.src, fmt.Sprintf("build-%s-%x.apk", name, sha256.Sum256([]byte(version+payload))))
	if err := os.WriteFile(p, writeAPK(t, spec), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func (e *apkEnv) publish(t testing.TB, ref feeds.FeedRef, req feeds.PublishRequest) *feeds.PublishResult {
	t.Helper()
	req.Format, req.ADBSigner = feeds.FormatAPK, e.akey
	res, err := e.store.Publish(context.Background(), ref, req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// checkAPKFeed verifies an apk feed folder as apk on a router does: packages.adb is signed by the
// key, and every entry downloads from ${name}-${version}.apk with the size and identity (SHA-256
// of its ADB block) the index gives. It returns the listed "name version" pairs.
func checkAPKFeed(t testing.TB, dir string, pub *apksign.PublicKey) []string {
	t.Helper()
	listed, err := verifyAPKFeed(dir, pub)
	if err != nil {
		t.Fatal(err)
	}
	return listed
}

func verifyAPKFeed(dir string, pub *apksign.PublicKey) ([]string, error) {
	data, err := os.ReadFile(filepath.Join(dir, "packages.adb"))
	if err != nil {
		return nil, err
	}
	f, entries, err := feeds.ReadAPKIndex(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if err := pub.Verify(f); err != nil {
		return nil, fmt.Errorf("index signature: %w", err)
	}
	var listed []string
	for _, e := range entries {
		name := e.Info.Name + "-" + e.Info.Version + ".apk"
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("entry %s cannot be downloaded: %w", name, err)
		}
		pf, err := adb.ReadFile(bytes.NewReader(data), adb.Limits{})
		if err != nil {
			return nil, fmt.Errorf("entry %s: %w", name, err)
		}
		if uint64(len(data)) != e.Info.FileSize || sha256.Sum256(pf.ADB) != e.Identity {
			return nil, fmt.Errorf("entry %s: size or identity does not match the file (apk: ADB integrity error)", name)
		}
		listed = append(listed, e.Info.Name+" "+e.Info.Version)
	}
	return listed, nil
}

// TestPublishAPKAtomicUnderReaders publishes again and again while readers fetch the feed as apk
// does. The index carries its signature, so unlike an opkg feed no read can straddle a switch:
// every packages.adb a reader gets verifies, and every package it lists downloads with its size
// and identity, even when later publishes have retired it.
func TestPublishAPKAtomicUnderReaders(t *testing.T) {
	e := newAPKEnv(t, feeds.StoreOptions{Grace: time.Hour, Now: time.Now})
	dir := feedDir(t, e.store, apkRef)
	e.publish(t, apkRef, feeds.PublishRequest{Add: []string{e.apk(t, "base", "1-r0", "x86_64", "base")}})
	pub := e.akey.Public()
	ctx, cancel := context.WithCancel(context.Background())
	var readers sync.WaitGroup
	var reads atomic.Int64
	for range 3 {
		readers.Go(func() {
			for ctx.Err() == nil {
				if _, err := verifyAPKFeed(dir, pub); err != nil {
					t.Errorf("a reader saw a broken feed: %v", err)
					return
				}
				reads.Add(1)
			}
		})
	}
	var writers sync.WaitGroup
	for w, name := range []string{"alpha", "beta"} {
		writers.Go(func() {
			for i := range 12 {
				p := e.apk(t, name, fmt.Sprintf("1.%d-r0", i), "x86_64", fmt.Sprint(w, i))
				if _, err := e.store.Publish(context.Background(), apkRef, feeds.PublishRequest{Format: feeds.FormatAPK, ADBSigner: e.akey, Add: []string{p}}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	writers.Wait()
	cancel()
	readers.Wait()
	if reads.Load() == 0 {
		t.Fatal("no reader finished a read")
	}
	if got := strings.Join(checkAPKFeed(t, dir, pub), ","); got != "alpha 1.11-r0,base 1-r0,beta 1.11-r0" {
		t.Fatalf("final index lists %s", got)
	}
}

func TestPublishAPKLifecycle(t *testing.T) {
	e := newAPKEnv(t, feeds.StoreOptions{Grace: time.Hour})
	dir := feedDir(t, e.store, apkRef)
	pub := e.akey.Public()

	src := e.apk(t, "foo", "1.0-r0", "x86_64", "a")
	res := e.publish(t, apkRef, feeds.PublishRequest{Add: []string{src, e.apk(t, "bar", "2.0-r0", "noarch", "b")}})
	if len(res.Added) != 2 || len(res.Refused) != 0 || res.URLPath != "/alice/pkgs/main/25.12/x86_64/" {
		t.Fatalf("first publish: %+v", res)
	}
	if got := strings.Join(checkAPKFeed(t, dir, pub), ","); got != "bar 2.0-r0,foo 1.0-r0" {
		t.Fatalf("index lists %s", got)
	}
	for _, a := range res.Added {
		if a.Name == "foo" && (a.Filename != "foo-1.0-r0.apk" || a.SHA256 != hexSum(mustRead(t, src)) || a.Size != int64(len(mustRead(t, src)))) {
			t.Errorf("added %+v", a)
		}
	}
	wantJSON := "{\n  \"version\": 2,\n  \"architecture\": \"x86_64\",\n  \"packages\": {\n    \"bar\": \"2.0-r0\",\n    \"foo\": \"1.0-r0\"\n  }\n}\n"
	if got := string(mustRead(t, filepath.Join(dir, "index.json"))); got != wantJSON {
		t.Errorf("index.json:\n%s", got)
	}

	// A newer foo replaces the older (apk's version order: _rc is before the release); the
	// old file stays for the grace period.
	e.publish(t, apkRef, feeds.PublishRequest{Add: []string{e.apk(t, "foo", "1.1_rc1-r0", "x86_64", "rc")}})
	res = e.publish(t, apkRef, feeds.PublishRequest{Add: []string{e.apk(t, "foo", "1.1-r0", "x86_64", "a2")}})
	if got := strings.Join(checkAPKFeed(t, dir, pub), ","); got != "bar 2.0-r0,foo 1.1-r0" {
		t.Fatalf("index lists %s", got)
	}
	if len(res.Removed) != 1 || res.Removed[0].Version != "1.1_rc1-r0" {
		t.Fatalf("removed: %+v", res.Removed)
	}
	old := filepath.Join(dir, "foo-1.0-r0.apk")
	if _, err := os.Stat(old); err != nil {
		t.Fatalf("superseded file deleted before its grace period: %v", err)
	}

	// The same version rebuilt with other bytes replaces the file under the one name routers
	// ask for, and the index lists the new identity.
	e.publish(t, apkRef, feeds.PublishRequest{Add: []string{e.apk(t, "foo", "1.1-r0", "x86_64", "rebuilt")}})
	if got := strings.Join(checkAPKFeed(t, dir, pub), ","); got != "bar 2.0-r0,foo 1.1-r0" {
		t.Fatalf("index lists %s", got)
	}

	// Republishing the same bytes changes nothing a router sees but the signature.
	before := mustRead(t, filepath.Join(dir, "foo-1.1-r0.apk"))
	e.publish(t, apkRef, feeds.PublishRequest{})
	if !bytes.Equal(before, mustRead(t, filepath.Join(dir, "foo-1.1-r0.apk"))) {
		t.Fatal("an empty publish changed a package")
	}

	// Removing a package; then, past the grace period, retired files go.
	e.clock.t = e.clock.t.Add(2 * time.Hour)
	e.publish(t, apkRef, feeds.PublishRequest{Remove: []string{"bar"}})
	if got := strings.Join(checkAPKFeed(t, dir, pub), ","); got != "foo 1.1-r0" {
		t.Fatalf("index lists %s", got)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Fatalf("retired file kept past the grace period: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "bar-2.0-r0.apk")); err != nil {
		t.Fatalf("a just-removed file must stay for the grace period: %v", err)
	}

	// A new Store reads the feed back from packages.adb, file hashes included.
	s2, err := feeds.OpenStore(e.store.Root(), feeds.StoreOptions{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	list, err := s2.List(context.Background(), apkRef)
	if err != nil || len(list) != 1 || list[0].Name != "foo" || list[0].SHA256 != hexSum(mustRead(t, filepath.Join(dir, "foo-1.1-r0.apk"))) {
		t.Fatalf("List after reopening: %+v, %v", list, err)
	}
	// …and publishes on top of it.
	res, err = s2.Publish(context.Background(), apkRef, feeds.PublishRequest{Format: feeds.FormatAPK, ADBSigner: e.akey,
		Add: []string{e.apk(t, "baz", "1-r0", "x86_64", "z")}})
	if err != nil || len(res.Index) != 2 {
		t.Fatalf("publish after reopening: %+v, %v", res, err)
	}
	if got := strings.Join(checkAPKFeed(t, dir, pub), ","); got != "baz 1-r0,foo 1.1-r0" {
		t.Fatalf("index lists %s", got)
	}
}

func TestPublishAPKKeepVersions(t *testing.T) {
	e := newAPKEnv(t, feeds.StoreOptions{KeepVersions: 2})
	for _, v := range []string{"1.9-r0", "1.10-r0", "1.2-r0", "1.10_rc1-r0"} {
		e.publish(t, apkRef, feeds.PublishRequest{Add: []string{e.apk(t, "foo", v, "x86_64", v)}})
	}
	got := checkAPKFeed(t, feedDir(t, e.store, apkRef), e.akey.Public())
	if strings.Join(got, ",") != "foo 1.10_rc1-r0,foo 1.10-r0" {
		t.Fatalf("kept %v, want the two newest by apk's version order", got)
	}
}

func TestPublishAPKRefusals(t *testing.T) {
	e := newAPKEnv(t, feeds.StoreOptions{})
	ipk := e.storeEnv.pkg(t, "old", "1", "x86_64", "o")
	junk := filepath.Join(e.src, "junk.apk")
	os.WriteFile(junk, []byte("ADBd junk"), 0o644)
	good := e.apk(t, "good", "1-r0", "x86_64", "g")
	res := e.publish(t, apkRef, feeds.PublishRequest{Add: []string{
		good, ipk, junk,
		e.apk(t, "other-arch", "1-r0", "aarch64_generic", "m"),
		e.apk(t, "kmod-foo", "6.6-r1", "x86_64", "k"),
		e.apk(t, "libc", "1.2.5-r4", "x86_64", "l"),
		e.apk(t, "good", "1-r0", "x86_64", "dup"),
	}})
	want := map[string]string{ipk: "not an apk v3", junk: "corrupt"}
	if len(res.Refused) != 6 {
		t.Fatalf("refused %d, want 6: %+v", len(res.Refused), res.Refused)
	}
	for _, r := range res.Refused {
		if w, ok := want[r.File]; ok && !strings.Contains(r.Reason, w) {
			t.Errorf("%s refused for %q, want %q", r.File, r.Reason, w)
		}
		if r.Reason == "" {
			t.Errorf("%s refused without a reason", r.File)
		}
	}
	if got := checkAPKFeed(t, feedDir(t, e.store, apkRef), e.akey.Public()); strings.Join(got, ",") != "good 1-r0" {
		t.Fatalf("index lists %v", got)
	}
}

// TestPublishFormats: a feed keeps its format, and each format needs its own signer.
func TestPublishFormats(t *testing.T) {
	e := newAPKEnv(t, feeds.StoreOptions{})
	ctx := context.Background()
	if _, err := e.store.Publish(ctx, apkRef, feeds.PublishRequest{Format: feeds.FormatAPK, Signer: e.key}); err == nil {
		t.Fatal("an apk feed was published with a usign signer only")
	}
	e.storeEnv.publish(t, mainRef, feeds.PublishRequest{Add: []string{e.storeEnv.pkg(t, "foo", "1", "x86_64", "a")}})
	opkgAsAPK := apkRef
	opkgAsAPK.Series = mainRef.Series
	_, err := e.store.Publish(ctx, opkgAsAPK, feeds.PublishRequest{Format: feeds.FormatAPK, ADBSigner: e.akey})
	if err == nil || !strings.Contains(err.Error(), "opkg index") {
		t.Fatalf("apk packages into an opkg feed: %v", err)
	}
	e.publish(t, apkRef, feeds.PublishRequest{Add: []string{e.apk(t, "foo", "1-r0", "x86_64", "a")}})
	_, err = e.store.Publish(ctx, apkRef, feeds.PublishRequest{Signer: e.key})
	if err == nil || !strings.Contains(err.Error(), "apk index") {
		t.Fatalf("opkg packages into an apk feed: %v", err)
	}
}

func TestSweepAPK(t *testing.T) {
	e := newAPKEnv(t, feeds.StoreOptions{Grace: time.Hour})
	e.publish(t, apkRef, feeds.PublishRequest{Add: []string{e.apk(t, "foo", "1-r0", "x86_64", "a")}})
	e.publish(t, apkRef, feeds.PublishRequest{Add: []string{e.apk(t, "foo", "2-r0", "x86_64", "b")}})
	dir := feedDir(t, e.store, apkRef)
	e.clock.t = e.clock.t.Add(2 * time.Hour)
	if n, err := e.store.Sweep(context.Background()); err != nil || n != 1 {
		t.Fatalf("sweep after the grace period deleted %d, want 1: %v", n, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "foo-1-r0.apk")); !os.IsNotExist(err) {
		t.Fatalf("retired file still there: %v", err)
	}
	if got := checkAPKFeed(t, dir, e.akey.Public()); strings.Join(got, ",") != "foo 2-r0" {
		t.Fatalf("index lists %v", got)
	}
}

// TestHandlerAPKFeed: a browser sees the packages of the index; a router gets the plain files.
func TestHandlerAPKFeed(t *testing.T) {
	e := newAPKEnv(t, feeds.StoreOptions{})
	evil := filepath.Join(e.src, "evil.apk")
	os.WriteFile(evil, writeAPK(t, feeds.APKSpec{Info: feeds.APKInfo{Name: "bar", Version: "2-r0", Arch: "x86_64", Description: "<script>alert(1)</script>"}}), 0o644)
	e.publish(t, apkRef, feeds.PublishRequest{Add: []string{e.apk(t, "foo", "1.0-r0", "x86_64", "a"), evil}})
	h, err := feeds.NewHandler(e.store.Root(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	srv := httptest.NewServer(h)
	defer srv.Close()
	get := func(p string) (*http.Response, []byte) {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, body
	}
	dir := feedDir(t, e.store, apkRef)
	foo := mustRead(t, filepath.Join(dir, "foo-1.0-r0.apk"))
	_, page := get("/alice/pkgs/main/25.12/x86_64/")
	want := fmt.Sprintf(`<tr><td><a href="foo-1.0-r0.apk">foo</a></td><td>1.0-r0</td><td>%d</td><td>test package foo</td></tr>`, len(foo))
	if !strings.Contains(string(page), "<h2>Packages (2)</h2>") || !strings.Contains(string(page), want) {
		t.Fatalf("listing lacks the packages of the index:\n%s", page)
	}
	if strings.Contains(string(page), "<script>") || !strings.Contains(string(page), "&lt;script&gt;") {
		t.Fatal("a description reached the page unescaped")
	}
	resp, body := get("/alice/pkgs/main/25.12/x86_64/packages.adb")
	if resp.StatusCode != 200 || !bytes.Equal(body, mustRead(t, filepath.Join(dir, "packages.adb"))) || resp.Header.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("packages.adb: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	resp, body = get("/alice/pkgs/main/25.12/x86_64/foo-1.0-r0.apk")
	if resp.StatusCode != 200 || !bytes.Equal(body, foo) {
		t.Fatalf("package: %s", resp.Status)
	}
	if resp, _ := get("/alice/pkgs/main/25.12/x86_64/.apk-sha256"); resp.StatusCode != 404 {
		t.Fatalf("hidden file served: %s", resp.Status)
	}
}
