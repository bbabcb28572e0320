package kube

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
)

// TestCompileCannotPhoneHome: a package whose Makefile connects to a listener on the node in
// download and in compile gets through in download (the pod's network) and is refused in
// compile (nonet's filter), with no NetworkPolicy in the namespace; it still builds, and the
// listener heard only the download.
func TestCompileCannotPhoneHome(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	nodes, err := e.k.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil || len(nodes.Items) == 0 {
		t.Fatalf("listing the nodes: %v", err)
	}
	var ip string
	for _, a := range nodes.Items[0].Status.Addresses {
		if a.Type == corev1.NodeInternalIP && net.ParseIP(a.Address).To4() != nil {
			ip = a.Address
		}
	}
	if ip == "" {
		t.Fatalf("node %s has no IPv4 InternalIP: %v", nodes.Items[0].Name, nodes.Items[0].Status.Addresses)
	}
	// The test runs on the node (the single-node cluster of .ci/run), so a listener here is
	// on the node's address.
	l, err := net.Listen("tcp4", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatalf("listening on the node's address %s (does this test run on the node?): %v", ip, err)
	}
	defer l.Close()
	heard := make(chan string, 16)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			line, _ := bufio.NewReader(c).ReadString('\n')
			heard <- strings.TrimSpace(line)
			c.Close()
		}
	}()

	addr := l.Addr().String()
	dir := repoDir(t, map[string]string{"caller": "dial " + addr, "plain": ""})
	res, log, _ := e.exec(t, builder.JobSpec{Job: e.job(t, dir), SourceDir: dir,
		Limits: builder.Limits{Timeout: 2 * time.Minute, WorkspaceSize: 64 << 20}})
	text := log.text()
	if !strings.Contains(text, "dial: download reached "+addr) {
		t.Errorf("download did not reach %s (so the test proves nothing):\n%s", addr, text)
	}
	if !strings.Contains(text, "dial: compile could not reach "+addr+": nc: socket: Permission denied") {
		t.Errorf("compile was not refused a socket:\n%s", text)
	}
	if !strings.Contains(text, "::openwrt-ppa:: phase build: no network") {
		t.Errorf("the compile phase did not say it runs with no network:\n%s", text)
	}
	if res.Status != builder.JobSucceeded || len(res.Files) != 2 {
		t.Errorf("status %s (%s), files %v, want both built\n%s", res.Status, res.Message, res.Files, text)
	}
	var got []string
	for len(heard) > 0 {
		got = append(got, <-heard)
	}
	if len(got) != 1 || got[0] != "download of caller" {
		t.Errorf("the listener heard %q, want only the download", got)
	}
}
