package redis

import (
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

func TestConnect(t *testing.T) {
	srv := testenv.StartRedis(t)
	c, err := Connect(t.Context(), srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()

	srv.Kill()
	if _, err := Connect(t.Context(), srv.URL()); err == nil || !strings.Contains(err.Error(), "does not answer") {
		t.Fatalf("Connect to a dead server = %v, want an error saying it does not answer", err)
	}
	_, err = Connect(t.Context(), "http://user:hunter2@host:6379/0")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("Connect with a bad URL = %v; want an error without the password", err)
	}
}
