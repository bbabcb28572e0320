package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the service's Prometheus series, on a registry of their own so that two services in
// one test process never collide.
type Metrics struct {
	Registry        *prometheus.Registry
	Webhooks        *prometheus.CounterVec   // by forge, event and result
	QueueDepth      prometheus.GaugeFunc     // read from the queue at scrape time
	JobDuration     *prometheus.HistogramVec // by result
	PublishDuration prometheus.Histogram
	FeedBytes       *prometheus.GaugeVec // by owner/repo
	FirstReport     prometheus.Histogram // webhook received → first "queued" report sent
}

// New registers every series; depth is called at scrape time for the queue depth.
func New(depth func() float64) *Metrics {
	if depth == nil {
		depth = func() float64 { return 0 }
	}
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openwrt_ppa_webhooks_total", Help: "Webhook deliveries by forge, event and result.",
		}, []string{"forge", "event", "result"}),
		QueueDepth: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "openwrt_ppa_queue_depth", Help: "Jobs waiting in the queue.",
		}, depth),
		JobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "openwrt_ppa_job_duration_seconds", Help: "Build job durations by result.",
			Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 600, 1200, 2400, 3600, 7200},
		}, []string{"result"}),
		PublishDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "openwrt_ppa_publish_duration_seconds", Help: "Feed publish durations (index, sign, switch).",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}),
		FeedBytes: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "openwrt_ppa_feed_bytes", Help: "Bytes of packages in a repository's feeds.",
		}, []string{"repository"}),
		FirstReport: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "openwrt_ppa_first_report_seconds", Help: "Webhook received to first queued check sent.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}),
	}
	m.Registry.MustRegister(m.Webhooks, m.QueueDepth, m.JobDuration, m.PublishDuration, m.FeedBytes, m.FirstReport,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}
