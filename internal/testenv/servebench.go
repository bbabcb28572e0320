package testenv

import (
	"bufio"
	"context"
	"fmt"
	"io"
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
)

// ServeBench runs the serving benchmarks the way the project measures them against nginx:
// each server pinned to CPU 0 with taskset, wrk -t1 -c32 pinned to CPU 1, the servers taking
// turns over several rounds (the machine is shared: other work moves both figures), and the
// median of the per-round ratios reported.
type ServeBench struct {
	taskset, wrk, nginx string
	// Duration is each wrk run's length: OPENWRT_PPA_BENCH_WRK_DURATION, else 10s.
	Duration string
}

// NeedServeBench finds taskset, wrk and nginx, or skips loudly (fails under CI).
func NeedServeBench(b *testing.B) *ServeBench {
	b.Helper()
	s := &ServeBench{Duration: os.Getenv("OPENWRT_PPA_BENCH_WRK_DURATION")}
	if s.Duration == "" {
		s.Duration = "10s"
	}
	for _, p := range []struct {
		name string
		to   *string
	}{{"taskset", &s.taskset}, {"wrk", &s.wrk}, {"nginx", &s.nginx}} {
		path, err := exec.LookPath(p.name)
		if err != nil {
			Missing(b, p.name, "the serving benchmark compares with nginx, driven by wrk and pinned with taskset: apt-get install nginx-light wrk util-linux")
		}
		*p.to = path
	}
	return s
}

// Pinned returns cmd run by taskset on CPU 0, where the servers run.
func (s *ServeBench) Pinned(name string, args ...string) *exec.Cmd {
	return exec.Command(s.taskset, append([]string{"-c", "0", name}, args...)...)
}

// StartHelper runs the test binary again on CPU 0 with only the test named test and env
// (NAME=VALUE) added to its environment, and waits until it answers HTTP on addr: the server
// under measurement in a process of its own, pinned as nginx is. It stops when b ends.
func (s *ServeBench) StartHelper(b *testing.B, test, env, addr string) {
	b.Helper()
	startHelper(b, s.Pinned, test, env, addr)
}

// StartHelper runs the test binary again with only the test named test and env (NAME=VALUE)
// added to its environment, and waits until it answers HTTP on addr: a server in a process of
// its own, which the caller may kill. It is interrupted when tb ends.
func StartHelper(tb testing.TB, test, env, addr string) *exec.Cmd {
	tb.Helper()
	return startHelper(tb, exec.Command, test, env, addr)
}

func startHelper(tb testing.TB, command func(string, ...string) *exec.Cmd, test, env, addr string) *exec.Cmd {
	tb.Helper()
	self, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	cmd := command(self, "-test.run", "^"+test+"$")
	cmd.Env = append(os.Environ(), env)
	StartServer(tb, cmd, addr)
	return cmd
}

// CompareFiles runs Compare (3 rounds) as a sub-benchmark of b for each of files in the URL
// folder dir, fetched from the servers at ours and nginx (host:port).
func (s *ServeBench) CompareFiles(b *testing.B, ours, nginx, dir string, files ...string) {
	b.Helper()
	for _, file := range files {
		path := dir + "/" + file
		b.Run(file, func(b *testing.B) {
			for b.Loop() {
				s.Compare(b, file, "http://"+ours+path, "http://"+nginx+path, 3)
			}
		})
	}
}

// StartNginx serves root with the project's pinned nginx configuration (worker_processes 1,
// sendfile, tcp_nopush, no access log) on a free loopback port, in a temporary prefix, and
// returns its address. It stops when b ends.
func (s *ServeBench) StartNginx(b *testing.B, root string) string {
	b.Helper()
	addr := FreeAddr(b)
	prefix := b.TempDir()
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;"
	}
	// Let nginx's worker (which may run as nobody) read the folder.
	for p := root; p != filepath.Dir(p); p = filepath.Dir(p) {
		if fi, err := os.Stat(p); err == nil && fi.IsDir() && fi.Mode().Perm()&0o005 != 0o005 && strings.HasPrefix(p, os.TempDir()) {
			_ = os.Chmod(p, fi.Mode().Perm()|0o005)
		}
	}
	conf := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(`%s
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
`, user, prefix, addr, root)), 0o644); err != nil {
		b.Fatal(err)
	}
	StartServer(b, s.Pinned(s.nginx, "-c", conf, "-p", prefix), addr)
	return addr
}

// Compare runs wrk against ours and nginx's URL in turns for rounds rounds, reports the
// medians as req/s and nginx-req/s and the median per-round ratio as x-nginx, and returns it.
func (s *ServeBench) Compare(b *testing.B, what, ours, nginx string, rounds int) float64 {
	b.Helper()
	var ratios, o, n []float64
	for range rounds {
		or := s.Wrk(b, ours)
		nr := s.Wrk(b, nginx)
		o, n, ratios = append(o, or), append(n, nr), append(ratios, or/nr)
	}
	all := slices.Clone(ratios)
	for _, v := range [][]float64{ratios, o, n} {
		slices.Sort(v)
	}
	m := rounds / 2
	b.ReportMetric(o[m], "req/s")
	b.ReportMetric(n[m], "nginx-req/s")
	b.ReportMetric(ratios[m], "x-nginx")
	b.Logf("%s: ours %.0f req/s, nginx %.0f req/s (medians of %d), median ratio %.2f (rounds: %.2f)", what, o[m], n[m], rounds, ratios[m], all)
	return ratios[m]
}

var rpsLine = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)

// Wrk runs wrk -t1 -c32 on CPU 1 against url and returns its requests per second; any
// non-2xx answer fails b.
func (s *ServeBench) Wrk(b *testing.B, url string) float64 {
	b.Helper()
	out, err := exec.Command(s.taskset, "-c", "1", s.wrk, "-t1", "-c32", "-d"+s.Duration, url).CombinedOutput()
	if err != nil {
		b.Fatalf("wrk: %v\n%s", err, out)
	}
	m := rpsLine.FindSubmatch(out)
	if m == nil {
		b.Fatalf("wrk printed no Requests/sec:\n%s", out)
	}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if strings.Contains(sc.Text(), "Non-2xx") || strings.Contains(sc.Text(), "Socket errors") {
			b.Fatalf("wrk got errors from %s:\n%s", url, out)
		}
	}
	rps, _ := strconv.ParseFloat(string(m[1]), 64)
	return rps
}

// FreeAddr is a loopback address no one listens on yet.
func FreeAddr(b testing.TB) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// StartServer starts cmd and waits until it answers HTTP on addr; it is stopped when b ends.
func StartServer(b testing.TB, cmd *exec.Cmd, addr string) {
	b.Helper()
	var out SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		resp, err := http.Get("http://" + addr + "/")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.Fatalf("%s did not start on %s: %s", cmd.Path, addr, out.String())
}
