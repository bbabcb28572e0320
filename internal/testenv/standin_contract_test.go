package testenv

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

// TestStandinHonoursTheSDKContract runs the stand-in image through testcontainers-go and checks
// the parts of the official SDK images' contract (DESIGN.md) that the service relies on: user
// buildbot with uid 1000, work dir /builder, the environment, setup.sh, feeds.conf.default and
// scripts/feeds. The executor's own tests then run builds in it.
func TestStandinHonoursTheSDKContract(t *testing.T) {
	image := StandinImage(t)
	t.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true") // its reaper image cannot be pulled here
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	script := `id -u; id -un; pwd; echo "TARGET=$TARGET"; echo "VERSION_PATH=$VERSION_PATH";
for f in setup.sh feeds.conf.default scripts/feeds; do [ -x "$f" ] || [ -f "$f" ] && echo "has $f"; done`
	c, err := testcontainers.Run(ctx, image,
		testcontainers.WithCmd("sh", "-c", script),
		testcontainers.WithLabels(map[string]string{TestLabel: "contract"}),
		testcontainers.WithWaitStrategy(wait.ForExit().WithExitTimeout(30*time.Second)))
	if c != nil {
		defer func() {
			if err := testcontainers.TerminateContainer(c); err != nil {
				t.Errorf("removing the container: %v", err)
			}
		}()
	}
	if err != nil {
		t.Fatalf("running the stand-in: %v", err)
	}
	logs, err := c.Logs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(logs)
	out := string(b)
	for _, want := range []string{"1000\n", "buildbot\n", "/builder\n", "TARGET=x86/64", "VERSION_PATH=releases/", "has setup.sh", "has feeds.conf.default", "has scripts/feeds"} {
		if !strings.Contains(out, want) {
			t.Errorf("the stand-in breaks the SDK contract: output lacks %q:\n%s", want, out)
		}
	}
}

// TestStandinAPKMakesAPKPackages: the apk mode's image is a 25.12-like SDK (VERSION 25.12.x,
// releases/25.12.x) whose `apk mkpkg`, the helper built from the project's apk writer, writes a
// package that feeds reads back with the metadata given on its command line.
func TestStandinAPKMakesAPKPackages(t *testing.T) {
	image := StandinAPKImage(t)
	t.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	script := `echo "VERSION=$VERSION"; echo "VERSION_PATH=$VERSION_PATH"; echo "STANDIN_FORMAT=$STANDIN_FORMAT"
mkdir -p /tmp/d/usr/bin && echo hi > /tmp/d/usr/bin/hello && chmod 755 /tmp/d/usr/bin/hello
apk mkpkg --info name:hello --info version:1.0-r1 --info arch:x86_64 --info "depends:libc" --info description:Hi \
  --files /tmp/d --output /tmp/hello-1.0-r1.apk && echo made; sleep 30`
	c, err := testcontainers.Run(ctx, image,
		testcontainers.WithCmd("sh", "-c", script),
		testcontainers.WithLabels(map[string]string{TestLabel: "contract-apk"}),
		testcontainers.WithWaitStrategy(wait.ForLog("made").WithStartupTimeout(30*time.Second)))
	if c != nil {
		defer func() {
			if err := testcontainers.TerminateContainer(c); err != nil {
				t.Errorf("removing the container: %v", err)
			}
		}()
	}
	if err != nil {
		t.Fatalf("running the apk stand-in: %v", err)
	}
	logs, err := c.Logs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(logs)
	for _, want := range []string{"VERSION=25.12.", "VERSION_PATH=releases/25.12.", "STANDIN_FORMAT=apk", "made"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("output lacks %q:\n%s", want, b)
		}
	}
	rc, err := c.CopyFileFromContainer(ctx, "/tmp/hello-1.0-r1.apk")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	file := filepath.Join(t.TempDir(), "hello-1.0-r1.apk")
	data, _ := io.ReadAll(rc)
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := feeds.ReadAPKFile(file, "hello-1.0-r1.apk", 0)
	if err != nil {
		t.Fatalf("the stand-in's .apk does not read back: %v", err)
	}
	if p.Info.Name != "hello" || p.Info.Version != "1.0-r1" || p.Info.Arch != "x86_64" || len(p.Info.Depends) != 1 || p.Info.Depends[0].Name != "libc" {
		t.Fatalf("read back %+v", p.Info)
	}
}
