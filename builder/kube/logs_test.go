package kube

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
)

// nodeLog stands in for the kubelet's copy of a container log: a follow stream ends after
// breakAfter lines (as the kubelet's does at the end of a file it rotated after the container
// exited); a plain read honours sinceTime and tailLines as the kubelet does.
type nodeLog struct {
	mu         sync.Mutex
	lines      []string
	stamps     []time.Time
	breakAfter int
	plain      []corev1.PodLogOptions
}

func newNodeLog(lines []string, breakAfter int) *nodeLog {
	n := &nodeLog{lines: lines, breakAfter: breakAfter}
	t0 := time.Date(2026, 12, 2, 4, 0, 0, 0, time.UTC)
	for i := range lines {
		n.stamps = append(n.stamps, t0.Add(time.Duration(i)*time.Millisecond)) // many lines a second, as a flood has
	}
	return n
}

func (n *nodeLog) open(_ context.Context, _ string, o *corev1.PodLogOptions) (io.ReadCloser, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	from, to := 0, len(n.lines)
	if o.Follow {
		to = min(to, n.breakAfter)
	} else {
		n.plain = append(n.plain, *o)
		if o.TailLines != nil {
			from = max(0, to-int(*o.TailLines))
		}
	}
	var b strings.Builder
	for i := from; i < to; i++ {
		if o.SinceTime != nil && n.stamps[i].Before(o.SinceTime.Time) {
			continue
		}
		fmt.Fprintf(&b, "%s %s\n", n.stamps[i].Format(time.RFC3339Nano), n.lines[i])
	}
	return io.NopCloser(strings.NewReader(b.String())), nil
}

// TestLogCatchUp: a followed log that broke off before the driver's last line is completed
// from the node's copy, under the cap, with no line twice; a complete one is not read again.
func TestLogCatchUp(t *testing.T) {
	flood := func(n int, end ...string) []string {
		var l []string
		for i := range n {
			l = append(l, fmt.Sprintf("flood %06d 0123456789abcdef0123456789abcdef", i))
		}
		return append(l, end...)
	}
	cases := []struct {
		name       string
		lines      []string
		breakAfter int
		logBytes   int64
		wantReread bool // a plain read happened
		wantNote   bool
		wantTail   bool // the plain read asked for the tail only
	}{
		{"complete stream", flood(50, driverDone), 1 << 30, 1 << 20, false, false, false},
		{"broken under the cap", flood(500, "unit a ok compile", driverDone), 120, 1 << 20, true, true, false},
		{"broken over the cap", flood(20000, "unit a ok compile", driverDone), 9000, 64 << 10, true, true, true},
		{"killed before the end", flood(300), 1 << 30, 1 << 20, true, false, false},
		{"killed and broken", flood(300), 100, 1 << 20, true, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "builds"},
				Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{
					{Name: ctrBuild, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0}}}}}}
			e, _ := fakeExecutor(t, Options{Namespace: "builds"}, pod)
			nl := newNodeLog(c.lines, c.breakAfter)
			e.podLogs = nl.open
			var got []string
			sink := builder.LogFunc(func(l string) { got = append(got, l) })
			r := newRun(e, builder.JobSpec{Log: sink}, builder.Limits{LogBytes: c.logBytes}, &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "j"}})
			r.pod = "p"
			done := make(chan struct{})
			r.followLogs(context.Background(), done)
			r.capped.Close()

			if (len(nl.plain) > 0) != c.wantReread {
				t.Errorf("plain reads %v, want one: %v", nl.plain, c.wantReread)
			}
			if len(nl.plain) > 0 && (nl.plain[0].TailLines != nil) != c.wantTail {
				t.Errorf("plain read %+v, want tail only: %v", nl.plain[0], c.wantTail)
			}
			text := strings.Join(got, "\n")
			if note := strings.Contains(text, strings.TrimSpace(catchUpNote)); note != c.wantNote {
				t.Errorf("catch-up note present %v, want %v", note, c.wantNote)
			}
			if want := c.lines[len(c.lines)-1]; got[len(got)-1] != want {
				t.Errorf("the log ends with %q, want %q", got[len(got)-1], want)
			}
			seen := map[string]bool{}
			for _, l := range got {
				if seen[l] {
					t.Errorf("line twice: %q", l)
				}
				seen[l] = true
			}
			capped := strings.Contains(text, "log cap of")
			if over := int64(len(strings.Join(c.lines, "\n"))) > c.logBytes; capped != over {
				t.Errorf("cap line present %v, want %v", capped, over)
			}
			if !capped {
				for _, l := range c.lines {
					if !seen[l] {
						t.Errorf("line lost under the cap: %q", l)
						break
					}
				}
			}
		})
	}
}

// lateStream is a follow stream that has one line, then more only once its context ended
// (what was in flight when the pod went away).
type lateStream struct {
	ctx  context.Context
	step int
}

func (s *lateStream) Read(p []byte) (int, error) {
	s.step++
	switch s.step {
	case 1:
		return copy(p, time.Now().UTC().Format(time.RFC3339Nano)+" first\n"), nil
	case 2:
		<-s.ctx.Done()
		time.Sleep(50 * time.Millisecond)
		return copy(p, time.Now().UTC().Format(time.RFC3339Nano)+" late\n"), nil
	}
	return 0, io.EOF
}

func (s *lateStream) Close() error { return nil }

// TestSuperviseWaitsForTheLog: when the pod is gone, Wait returns only after the log
// goroutine ended: every line is in the job's log by then, and none comes after.
func TestSuperviseWaitsForTheLog(t *testing.T) {
	e, _ := fakeExecutor(t, Options{Namespace: "builds"}) // no pod: deleted
	e.podLogs = func(ctx context.Context, _ string, o *corev1.PodLogOptions) (io.ReadCloser, error) {
		if !o.Follow {
			return io.NopCloser(strings.NewReader("")), nil
		}
		return &lateStream{ctx: ctx}, nil
	}
	var mu sync.Mutex
	var got []string
	waited := false
	var afterWait []string
	sink := builder.LogFunc(func(l string) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, l)
		if waited {
			afterWait = append(afterWait, l)
		}
	})
	r := newRun(e, builder.JobSpec{Log: sink}, builder.Limits{LogBytes: 1 << 20, Timeout: time.Minute}, &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "j"}})
	r.pod = "p"
	r.started = time.Now()
	r.canceled = true // a deletion that was asked for: no error from Wait
	go r.supervise(context.Background())
	if _, err := r.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	waited = true
	mu.Unlock()
	time.Sleep(200 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(afterWait) > 0 {
		t.Errorf("lines after Wait returned: %q", afterWait)
	}
	if strings.Join(got, "\n") != "first\nlate" {
		t.Errorf("log %q, want first and late", got)
	}
}
