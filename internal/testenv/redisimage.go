package testenv

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// RedisImageRepo is the repository of RedisImage's tags.
const RedisImageRepo = "openwrt-ppa/test-redis"

// RedisImage builds an image of this machine's redis-server FROM scratch (the binary, the
// shared libraries ldd names, and a /data owned by 999, the official image's redis user), for
// the chart's bundled Redis on a cluster that cannot pull images, and returns its tag.
func RedisImage(t testing.TB) string {
	t.Helper()
	cli := NeedDocker(t)
	bin := NeedCommand(t, "redis-server")
	ldd := NeedCommand(t, "ldd")
	out, err := exec.Command(ldd, bin).Output()
	if err != nil {
		t.Fatalf("ldd %s: %v", bin, err)
	}
	files := map[string]imageFile{}
	add := func(path string, mode int64) {
		data, err := os.ReadFile(path)
		if err != nil {
			Missing(t, "a file of the Redis test image", err.Error())
		}
		files[filepath.Clean(path)[1:]] = imageFile{data: data, mode: mode}
	}
	real, err := filepath.EvalSymlinks(bin)
	if err != nil {
		t.Fatal(err)
	}
	add(real, 0o755)
	add(bin, 0o755) // Debian's redis-server is a link to redis-check-rdb: argv[0] picks the server
	libs := regexp.MustCompile(`(?m)(/\S+\.so[.0-9]*) \(0x`).FindAllStringSubmatch(string(out), -1)
	for _, m := range libs {
		p, err := filepath.EvalSymlinks(m[1])
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		// Under the name the loader asks for (the symlink's), with the target's content.
		files[filepath.Clean(m[1])[1:]] = imageFile{data: data, mode: 0o755}
	}
	files["data/"] = imageFile{dir: true, mode: 0o777}
	files["tmp/"] = imageFile{dir: true, mode: 0o1777}
	files["Dockerfile"] = imageFile{data: []byte("FROM scratch\nCOPY . /\nENV PATH=/usr/bin:/bin\nUSER 999:999\nENTRYPOINT [\"" + filepath.Clean(bin) + "\"]\n"), mode: 0o644}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	tag, err := buildImage(ctx, cli, RedisImageRepo, "test-", files)
	if err != nil {
		t.Fatalf("building the Redis test image: %v", err)
	}
	return tag
}
