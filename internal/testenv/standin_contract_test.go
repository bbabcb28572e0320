package testenv

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

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
