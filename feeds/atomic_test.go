package feeds_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/usign"
)

// TestPublishAtomicUnderReaders publishes again and again while readers fetch the feed as a
// router does. Every file a reader gets is whole (never half-written), every package the index
// lists downloads with its size and checksum, even when later publishes have retired it, and the
// signature matches the index except when the reads straddle a switch: the index files are
// renamed one after the other (Packages.gz, Packages, Packages.sig), as with any static feed, so a
// reader can fetch Packages just before and Packages.sig just after; reading again (what opkg
// update does on retry) must then give a matching pair.
func TestPublishAtomicUnderReaders(t *testing.T) {
	e := newStoreEnv(t, feeds.StoreOptions{Grace: time.Hour, Now: time.Now})
	dir := feedDir(t, e.store, mainRef)
	e.publish(t, mainRef, feeds.PublishRequest{Add: []string{e.pkg(t, "base", "1", "x86_64", "base")}})
	pub := e.key.Public()

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var matched, straddled atomic.Int64
	for range 4 {
		wg.Go(func() {
			var firstMiss time.Time
			for ctx.Err() == nil {
				packages, err1 := os.ReadFile(filepath.Join(dir, "Packages"))
				sigText, err2 := os.ReadFile(filepath.Join(dir, "Packages.sig"))
				if err1 != nil || err2 != nil {
					t.Errorf("an index file was missing mid-publish: %v %v", err1, err2)
					return
				}
				sig, err := usign.ParseSignature(sigText)
				if err != nil {
					t.Errorf("half-written signature: %v", err)
					return
				}
				checkEntries(t, dir, packages)
				if err := pub.Verify(packages, sig); err != nil {
					straddled.Add(1)
					if firstMiss.IsZero() {
						firstMiss = time.Now()
					} else if time.Since(firstMiss) > 2*time.Second {
						t.Errorf("index and signature kept disagreeing: %v", err)
						return
					}
					continue
				}
				firstMiss = time.Time{}
				matched.Add(1)
			}
		})
	}
	// Writers: two goroutines publish to the same feed concurrently (they must serialise).
	var pw sync.WaitGroup
	for w := range 2 {
		pw.Go(func() {
			for i := range 15 {
				name := []string{"alpha", "beta"}[w]
				p := e.pkg(t, name, "1."+string(rune('0'+i%10))+"-1", "x86_64", name+string(rune(i)))
				if _, err := e.store.Publish(context.Background(), mainRef, feeds.PublishRequest{Add: []string{p}, Signer: e.key}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	pw.Wait()
	cancel()
	wg.Wait()
	if matched.Load() == 0 {
		t.Fatal("no reader ever saw a matching index and signature")
	}
	t.Logf("%d matching reads, %d reads straddled a switch", matched.Load(), straddled.Load())
	got := checkFeed(t, dir, pub)
	if len(got) != 3 {
		t.Fatalf("final index lists %v, want base, alpha and beta", got)
	}
}

// TestPublishParallelFeeds publishes to many feeds at once; each must end up complete.
func TestPublishParallelFeeds(t *testing.T) {
	e := newStoreEnv(t, feeds.StoreOptions{})
	var wg sync.WaitGroup
	archs := []string{"x86_64", "mips_24kc", "aarch64_cortex-a53", "mipsel_24kc"}
	for _, arch := range archs {
		wg.Go(func() {
			ref := mainRef
			ref.Arch = arch
			for i := range 5 {
				p := e.pkg(t, "p"+string(rune('a'+i)), "1", arch, arch)
				if _, err := e.store.Publish(context.Background(), ref, feeds.PublishRequest{Add: []string{p}, Signer: e.key}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	for _, arch := range archs {
		ref := mainRef
		ref.Arch = arch
		if got := checkFeed(t, feedDir(t, e.store, ref), e.key.Public()); len(got) != 5 {
			t.Errorf("%s lists %v", arch, got)
		}
	}
}
