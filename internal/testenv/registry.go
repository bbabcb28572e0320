package testenv

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"
)

// Registry is a real OCI registry (Debian's docker-registry, the CNCF distribution registry)
// on a free loopback port, storing into a temporary folder.
type Registry struct {
	Addr string // "127.0.0.1:PORT"
	cmd  *exec.Cmd
	out  *SyncBuffer
	once sync.Once
}

// NeedRegistry starts a Registry (StartRegistry) and returns its address.
func NeedRegistry(t testing.TB) string {
	t.Helper()
	return StartRegistry(t).Addr
}

// StartRegistry starts a Registry; it is stopped when the test ends, or earlier by Stop. Docker
// treats loopback registries as insecure (plain HTTP), so the engine can push to and pull from it.
func StartRegistry(t testing.TB) *Registry {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		Missing(t, "docker-registry", "not found on PATH (Debian: apt-get install docker-registry)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yml")
	conf := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n", filepath.Join(dir, "data"), addr)
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &Registry{Addr: addr, out: &SyncBuffer{}, cmd: exec.Command(bin, "serve", cfg)}
	r.cmd.Stdout, r.cmd.Stderr = r.out, r.out
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("starting docker-registry: %v", err)
	}
	t.Cleanup(r.Stop)
	for deadline := time.Now().Add(15 * time.Second); ; {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return r
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("docker-registry did not answer on %s: %v\n%s", addr, err, r.out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop ends the registry (its address then refuses connections); later calls do nothing.
func (r *Registry) Stop() {
	r.once.Do(func() {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
	})
}

// PushImage tags the local image src as ref (in a registry) and pushes it; the local ref tag is
// removed again, so whoever uses ref next has to pull it.
func PushImage(t testing.TB, cli *client.Client, src, ref string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := cli.ImageTag(ctx, client.ImageTagOptions{Source: src, Target: ref}); err != nil {
		t.Fatalf("tagging %s as %s: %v", src, ref, err)
	}
	resp, err := cli.ImagePush(ctx, ref, client.ImagePushOptions{RegistryAuth: "e30="}) // "{}": no credential
	if err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	err = resp.Wait(ctx)
	resp.Close()
	if err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	RemoveTag(t, cli, ref)
}

// RemoveTag removes a local tag (not the image it names when other tags remain).
func RemoveTag(t testing.TB, cli *client.Client, ref string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cli.ImageRemove(ctx, ref, client.ImageRemoveOptions{}); err != nil {
		t.Errorf("removing the tag %s: %v", ref, err)
	}
}
