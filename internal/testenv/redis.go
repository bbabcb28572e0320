package testenv

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Redis is a real redis-server a test started on a free loopback port, with its data (an
// append-only file, no RDB snapshots) in a temporary folder. It is killed at test cleanup.
type Redis struct {
	Addr string // host:port
	Dir  string // its working folder: AOF, log

	t     testing.TB
	args  []string
	cmd   *exec.Cmd
	exitc chan struct{}
}

// StartRedis starts redis-server for the test, or skips it (fails under CI) when redis-server is
// not installed. extra arguments are appended to the command line, e.g. "--appendfsync",
// "always" for a test that kills the server and expects nothing lost.
func StartRedis(t testing.TB, extra ...string) *Redis {
	t.Helper()
	bin := NeedCommand(t, "redis-server")
	r := &Redis{Dir: t.TempDir(), t: t}
	var lastErr error
	// A free port found by listening can be taken again before redis binds it; try a few.
	for range 5 {
		port, err := freePort()
		if err != nil {
			t.Fatalf("finding a free port for redis-server: %v", err)
		}
		r.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		r.args = append([]string{
			"--bind", "127.0.0.1", "--port", strconv.Itoa(port),
			"--dir", r.Dir, "--save", "", "--appendonly", "yes",
			"--logfile", filepath.Join(r.Dir, "redis.log"), "--daemonize", "no",
		}, extra...)
		r.args = append([]string{bin}, r.args...)
		if lastErr = r.start(); lastErr == nil {
			t.Cleanup(r.Kill)
			return r
		}
	}
	t.Fatalf("starting redis-server: %v", lastErr)
	return nil
}

// URL is the server's address as a redis:// URL, as --redis takes it.
func (r *Redis) URL() string { return "redis://" + r.Addr + "/0" }

// Kill ends the server at once (SIGKILL), as a crash would; what was not yet written to the
// append-only file is lost. Killing a stopped server does nothing.
func (r *Redis) Kill() { r.signal(syscall.SIGKILL) }

// Stop shuts the server down cleanly (SIGTERM), which flushes the append-only file.
func (r *Redis) Stop() { r.signal(syscall.SIGTERM) }

// Restart stops the server cleanly and starts it again on the same port and folder, so that it
// loads its append-only file: what a restart of Redis in production does.
func (r *Redis) Restart() {
	r.t.Helper()
	r.Stop()
	if err := r.start(); err != nil {
		r.t.Fatalf("restarting redis-server: %v", err)
	}
}

func (r *Redis) signal(sig syscall.Signal) {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(sig)
	select {
	case <-r.exitc:
	case <-time.After(10 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.exitc
	}
	r.cmd = nil
}

func (r *Redis) start() error {
	cmd := exec.Command(r.args[0], r.args[1:]...)
	cmd.Dir = r.Dir
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("running %s: %w", r.args[0], err)
	}
	exitc := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exitc) }()
	r.cmd, r.exitc = cmd, exitc
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exitc:
			r.cmd = nil
			return fmt.Errorf("redis-server exited at start; its log:\n%s", r.log())
		default:
		}
		if ping(r.Addr) == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.Kill()
	return fmt.Errorf("redis-server did not answer PING on %s within 10s; its log:\n%s", r.Addr, r.log())
}

func (r *Redis) log() string {
	b, _ := os.ReadFile(filepath.Join(r.Dir, "redis.log"))
	return string(b)
}

// ping succeeds once the server answers PONG, which it does not while it loads its data.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("redis answered %q", strings.TrimSpace(line))
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
