package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestMetricsExposeServiceSeries(t *testing.T) {
	depth := 0.0
	m := New(func() float64 { return depth })
	m.Webhooks.WithLabelValues("github", "push", "accepted").Inc()
	m.JobDuration.WithLabelValues("success").Observe(42)
	depth = 7

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`openwrt_ppa_webhooks_total{event="push",forge="github",result="accepted"} 1`,
		`openwrt_ppa_queue_depth 7`,
		`openwrt_ppa_job_duration_seconds_count{result="success"} 1`,
		`openwrt_ppa_publish_duration_seconds_count 0`,
		`go_goroutines`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// Two services in one process must not collide on a global registry.
	New(nil)
}
