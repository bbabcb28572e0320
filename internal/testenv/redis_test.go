package testenv

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

// send runs one inline command and returns the first line of the answer.
func send(t *testing.T, addr, cmd string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatalf("dialing redis: %v", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte(cmd + "\r\n")); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(line, "$") && !strings.HasPrefix(line, "$-1") {
		line, _ = r.ReadString('\n')
	}
	return strings.TrimSpace(line)
}

func TestStartRedisKeepsDataAcrossRestart(t *testing.T) {
	r := StartRedis(t)
	if got := send(t, r.Addr, "SET k v1"); got != "+OK" {
		t.Fatalf("SET answered %q", got)
	}
	r.Restart()
	if got := send(t, r.Addr, "GET k"); got != "v1" {
		t.Fatalf("after restart GET k = %q, want v1 (append-only file not loaded?)", got)
	}
}

func TestStartRedisKillStopsServer(t *testing.T) {
	r := StartRedis(t)
	r.Kill()
	if err := ping(r.Addr); err == nil {
		t.Fatal("redis-server still answers after Kill")
	}
}

func TestStartRedisGivesEachTestItsOwnServer(t *testing.T) {
	a, b := StartRedis(t), StartRedis(t)
	if a.Addr == b.Addr || a.Dir == b.Dir {
		t.Fatalf("two servers share %s / %s", a.Addr, a.Dir)
	}
	send(t, a.Addr, "SET only-a 1")
	if got := send(t, b.Addr, "EXISTS only-a"); got != ":0" {
		t.Fatalf("second server sees the first one's key: EXISTS = %q", got)
	}
}
