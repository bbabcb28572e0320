package feeds_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/feedstest"
)

// TestHelperFeedServer is not a test: BenchmarkServe runs the test binary again with
// OPENWRT_PPA_HELPER_SERVE=DIR,ADDR to get a feed server in its own process, which it can pin to
// a CPU with taskset as it does nginx.
func TestHelperFeedServer(t *testing.T) {
	spec := os.Getenv("OPENWRT_PPA_HELPER_SERVE")
	if spec == "" {
		t.Skip("helper process for BenchmarkServe")
	}
	dir, addr, _ := strings.Cut(spec, ",")
	h, err := feeds.NewHandler(dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	t.Fatal(srv.ListenAndServe())
}

// BenchmarkServe compares requests per second for Packages.gz and a 200 KB package, served by
// this handler and by nginx from the same folder (worker_processes 1, sendfile, tcp_nopush,
// no access log), each server pinned to CPU 0 and wrk -t1 -c32 pinned to CPU 1.
// OPENWRT_PPA_BENCH_WRK_DURATION sets the length of each wrk run (default 10s).
func BenchmarkServe(b *testing.B) {
	wrk := lookOrSkip(b, "wrk")
	nginx := lookOrSkip(b, "nginx")
	taskset := lookOrSkip(b, "taskset")
	duration := os.Getenv("OPENWRT_PPA_BENCH_WRK_DURATION")
	if duration == "" {
		duration = "10s"
	}
	// The feed: the index of 100 packages (Packages.gz ≈ 6 KB, a large personal feed) and one
	// 200 KB package.
	root := b.TempDir()
	feed := filepath.Join(root, "o", "r", "main", "24.10", "x86_64")
	if err := os.MkdirAll(feed, 0o755); err != nil {
		b.Fatal(err)
	}
	var pkgs []feeds.Package
	for i := range 100 {
		c, err := feeds.ParseControl([]byte(feedstest.Control(feedstest.GeneratedName(i), "1.0-1", "x86_64")))
		if err != nil {
			b.Fatal(err)
		}
		pkgs = append(pkgs, feeds.Package{Filename: feedstest.GeneratedName(i) + "_1.0-1_x86_64.ipk", Size: 4096, SHA256: strings.Repeat("ab", 32), Control: c})
	}
	ix, err := feeds.BuildIndex(pkgs, feeds.IndexOptions{Arch: "x86_64"})
	if err != nil {
		b.Fatal(err)
	}
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(feed, "Packages.gz"), ix.PackagesGz, 0o644))
	must(os.WriteFile(filepath.Join(feed, "big_1.0-1_x86_64.ipk"), feedstest.IPK(feedstest.Control("big", "1.0-1", "x86_64"), incompressible(200<<10)), 0o644))
	// Let nginx's worker (which may run as nobody) read the folder.
	for p := feed; strings.HasPrefix(p, root) || p == root; p = filepath.Dir(p) {
		os.Chmod(p, 0o755)
		if p == root {
			break
		}
	}
	os.Chmod(filepath.Dir(root), 0o755)

	oursAddr, nginxAddr := freeAddr(b), freeAddr(b)
	self, _ := os.Executable()
	ours := exec.Command(taskset, "-c", "0", self, "-test.run", "^TestHelperFeedServer$")
	ours.Env = append(os.Environ(), "OPENWRT_PPA_HELPER_SERVE="+root+","+oursAddr)
	startServer(b, ours, oursAddr)

	conf := filepath.Join(b.TempDir(), "nginx.conf")
	prefix := filepath.Dir(conf)
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;"
	}
	must(os.WriteFile(conf, []byte(fmt.Sprintf(`%s
worker_processes 1;
daemon off;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log;
events { worker_connections 1024; }
http {
  sendfile on; tcp_nopush on; access_log off;
  types { application/gzip gz; application/octet-stream ipk; }
  default_type application/octet-stream;
  client_body_temp_path %[2]s; proxy_temp_path %[2]s; fastcgi_temp_path %[2]s; uwsgi_temp_path %[2]s; scgi_temp_path %[2]s;
  server { listen %[3]s; root %[4]s; }
}
`, user, prefix, nginxAddr, root)), 0o644))
	ng := exec.Command(taskset, "-c", "0", nginx, "-c", conf, "-p", prefix)
	startServer(b, ng, nginxAddr)

	for _, file := range []string{"Packages.gz", "big_1.0-1_x86_64.ipk"} {
		path := "/o/r/main/24.10/x86_64/" + file
		b.Run(file, func(b *testing.B) {
			for b.Loop() {
				// Other work on the machine moves both figures; alternate the servers over three
				// rounds and report the median of the per-round ratios.
				var ratios, ours, ng []float64
				for range 3 {
					o := runWrk(b, taskset, wrk, duration, "http://"+oursAddr+path)
					n := runWrk(b, taskset, wrk, duration, "http://"+nginxAddr+path)
					ours, ng, ratios = append(ours, o), append(ng, n), append(ratios, o/n)
				}
				slices.Sort(ratios)
				slices.Sort(ours)
				slices.Sort(ng)
				b.ReportMetric(ours[1], "req/s")
				b.ReportMetric(ng[1], "nginx-req/s")
				b.ReportMetric(ratios[1], "x-nginx")
				b.Logf("%s: ours %.0f req/s, nginx %.0f req/s (medians of 3), median ratio %.2f (all: %.2f)", file, ours[1], ng[1], ratios[1], ratios)
			}
		})
	}
}

func lookOrSkip(b *testing.B, name string) string {
	p, err := exec.LookPath(name)
	if err != nil {
		b.Skipf("SKIPPED — %s is not installed (apt-get install nginx-light wrk util-linux)", name)
	}
	return p
}

func freeAddr(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServer starts cmd and waits until it answers on addr; it is stopped when b ends.
func startServer(b *testing.B, cmd *exec.Cmd, addr string) {
	b.Helper()
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		resp, err := http.Get("http://" + addr + "/")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.Fatalf("%s did not start on %s: %s", cmd.Path, addr, out.String())
}

var rpsLine = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)

func runWrk(b *testing.B, taskset, wrk, duration, url string) float64 {
	b.Helper()
	out, err := exec.Command(taskset, "-c", "1", wrk, "-t1", "-c32", "-d"+duration, url).CombinedOutput()
	if err != nil {
		b.Fatalf("wrk: %v\n%s", err, out)
	}
	m := rpsLine.FindSubmatch(out)
	if m == nil {
		b.Fatalf("wrk printed no Requests/sec:\n%s", out)
	}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if strings.Contains(sc.Text(), "Non-2xx") {
			b.Fatalf("wrk got errors from %s:\n%s", url, out)
		}
	}
	rps, _ := strconv.ParseFloat(string(m[1]), 64)
	return rps
}
