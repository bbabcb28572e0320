package queuetest

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/internal/queue"
)

// Bench measures a job's full trip — Enqueue, Dequeue, Ack — one at a time ("serial") and from
// GOMAXPROCS workers at once ("parallel"), and reports jobs per second.
func Bench(b *testing.B, q queue.Queue) {
	ctx := context.Background()
	payload := []byte(`{"build":12345,"series":"24.10","arch":"x86_64"}`)
	var n atomic.Int64
	trip := func(b *testing.B, worker string) {
		id := strconv.FormatInt(n.Add(1), 10)
		if err := q.Enqueue(ctx, id, payload); err != nil {
			b.Fatal(err)
		}
		l, err := q.Dequeue(ctx, worker)
		if err != nil {
			b.Fatal(err)
		}
		if err := q.Ack(ctx, l); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			trip(b, "w")
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
	})
	b.Run("parallel", func(b *testing.B) {
		var w atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			worker := "w" + strconv.FormatInt(w.Add(1), 10)
			for pb.Next() {
				trip(b, worker)
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
	})
}
