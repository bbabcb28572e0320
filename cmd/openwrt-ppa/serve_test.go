package main

import (
	"context"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestServe(t *testing.T) {
	data := t.TempDir()
	feed := filepath.Join(data, "feeds", "alice", "pkgs", "main", "24.10", "x86_64")
	if err := os.MkdirAll(feed, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(feed, "Packages"), []byte("Package: a\n\n"), 0o644)
	os.WriteFile(filepath.Join(data, "secret"), []byte("not served"), 0o600)

	ctx, cancel := context.WithCancel(context.Background())
	var out, errb testenv.SyncBuffer
	done := make(chan int)
	go func() {
		done <- runServe(ctx, []string{"--data", data, "--listen", "127.0.0.1:0", "--catalogue-refresh", "0"}, &out, &errb)
	}()
	addr := ""
	re := regexp.MustCompile(`http://([0-9.:]+)/`)
	for deadline := time.Now().Add(5 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		cancel()
		t.Fatalf("server did not start: %s %s", out.String(), errb.String())
	}
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/alice/pkgs/main/24.10/x86_64/Packages"); code != 200 || body != "Package: a\n\n" {
		t.Errorf("feed file: %d %q", code, body)
	}
	if code, _ := get("/../secret"); code == 200 {
		t.Error("served a file outside DIR/feeds")
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop when its context ended")
	}
}

func TestServeUsage(t *testing.T) {
	var out, errb testenv.SyncBuffer
	if code := runServe(context.Background(), []string{"--help"}, &out, &errb); code != 0 || !strings.Contains(errb.String(), "usage: openwrt-ppa serve") {
		t.Fatalf("--help: %d %s", code, errb.String())
	}
	if code := runServe(context.Background(), []string{"--listen", "256.0.0.1:99999", "--data", t.TempDir()}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "--listen") {
		t.Fatalf("bad address: %d %s", code, errb.String())
	}
}
