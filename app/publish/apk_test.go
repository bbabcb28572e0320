package publish

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/app/keys"
	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/adb"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/apktest"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store/inproc"
)

// TestFeedStorePublishesSignedAPKFeeds: an apk job's packages go into packages.adb signed with
// the repository's apk key of the ref's role (main for a branch, preview for a pull request),
// never with the other one.
func TestFeedStorePublishesSignedAPKFeeds(t *testing.T) {
	ctx := context.Background()
	fs, err := feeds.OpenStore(t.TempDir(), feeds.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ring := keys.NewRing(t.TempDir(), nil)
	p := &FeedStore{Feeds: fs, Keys: ring, Locker: inproc.NewLocker()}
	data, err := apktest.APK("hello", "1.0-r1", "x86_64", []byte("hi\n"))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "hello-1.0-r1.apk")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	repo := store.Repository{ID: 1, Owner: "alice", Name: "pkgs"}
	for _, tc := range []struct {
		ref         feeds.FeedRef
		kind, other store.KeyKind
	}{
		{feeds.FeedRef{Owner: "alice", Repo: "pkgs", Kind: feeds.BranchFeed, Name: "main", Series: "25.12", Arch: "x86_64"}, store.KeyMain, store.KeyPreview},
		{feeds.FeedRef{Owner: "alice", Repo: "pkgs", Kind: feeds.PullRequest, Name: "3", Series: "25.12", Arch: "x86_64"}, store.KeyPreview, store.KeyMain},
	} {
		res, err := p.Publish(ctx, repo, tc.ref, Files{Add: []string{file}, Index: IndexOf(builder.FormatAPK, 0)})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Refused) > 0 || len(res.Index) != 1 || res.Index[0].Filename != "hello-1.0-r1.apk" {
			t.Fatalf("%s: %+v", tc.ref, res)
		}
		dir, _ := fs.FeedDir(tc.ref)
		raw, err := os.ReadFile(filepath.Join(dir, feeds.FileAPKIndex))
		if err != nil {
			t.Fatal(err)
		}
		f, err := adb.ReadFile(bytes.NewReader(raw), adb.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		pub, _, err := ring.APKPublic(ctx, repo.ID, tc.kind)
		if err != nil {
			t.Fatal(err)
		}
		if err := pub.Verify(f); err != nil {
			t.Errorf("%s: packages.adb does not verify with the %s apk key: %v", tc.ref, tc.kind, err)
		}
		other, _, _ := ring.APKPublic(ctx, repo.ID, tc.other)
		if other.Verify(f) == nil {
			t.Errorf("%s: packages.adb verifies with the %s key too", tc.ref, tc.other)
		}
		if _, err := os.Stat(filepath.Join(dir, "Packages")); err == nil {
			t.Errorf("%s: an apk feed got an opkg index", tc.ref)
		}
	}
	if _, err := ring.Existing(ctx, repo.ID, store.KeyMain); err == nil {
		t.Error("publishing apk feeds made a usign key")
	}
}

func TestPackageOfFile(t *testing.T) {
	for file, want := range map[string]string{
		"hello_1.0-r1_x86_64.ipk":   "hello",
		"hello-1.0-r1.apk":          "hello",
		"hello-extra-2.1.3-r10.apk": "hello-extra",
		"luci-app-x-26.001~ab.apk":  "luci-app-x",
		"x-1.apk":                   "x",
	} {
		if got := packageOfFile(file); got != want {
			t.Errorf("packageOfFile(%q) = %q, want %q", file, got, want)
		}
	}
}
