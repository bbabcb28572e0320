package storetest

import (
	"context"
	"encoding/json"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// Bench measures the writes on the webhook's path — storing the event (before the 202), creating
// a build with five jobs, a job's status change — and reports operations per second.
func Bench(b *testing.B, s store.Store) {
	ctx := context.Background()
	r, err := s.PutRepository(ctx, store.Repository{Forge: "github", ForgeID: "1", Owner: "bench", Name: "pkgs"})
	if err != nil {
		b.Fatal(err)
	}
	payload := json.RawMessage(`{"ref":"refs/heads/main","after":"0123456789abcdef0123456789abcdef01234567","repository":{"id":1}}`)
	// One sequence of delivery ids for every run (-count repeats sub-benchmarks on one store).
	var seq atomic.Int64
	b.Run("AddEvent", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.AddEvent(ctx, store.Event{Forge: "github", DeliveryID: strconv.FormatInt(seq.Add(1), 10), Kind: "push", Payload: payload}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	// As deliveries arrive: 32 at once (wrk -c32 in the whole-server figure). Compare
	// with AddEvent: the ratio is what grouping concurrent saves into one durable commit buys.
	b.Run("AddEventConcurrent", func(b *testing.B) {
		b.SetParallelism(max(1, 32/runtime.GOMAXPROCS(0)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.AddEvent(ctx, store.Event{Forge: "github", DeliveryID: strconv.FormatInt(seq.Add(1), 10), Kind: "push", Payload: payload}); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	var last store.Job
	b.Run("CreateBuild+5Jobs", func(b *testing.B) {
		for b.Loop() {
			bu, err := s.CreateBuild(ctx, store.Build{RepoID: r.ID, CommitSHA: "abc", Ref: store.Ref{Kind: store.RefBranch, Name: "main"}, Trigger: store.TriggerPush, Status: store.StatusQueued})
			if err != nil {
				b.Fatal(err)
			}
			var js []store.Job
			for _, a := range []string{"x86_64", "aarch64_cortex-a53", "mipsel_24kc", "mips_24kc", "arm_cortex-a7_neon-vfpv4"} {
				js = append(js, store.Job{BuildID: bu.ID, Series: "24.10", Arch: a, ContentKey: "k-" + a})
			}
			out, err := s.CreateJobs(ctx, js)
			if err != nil {
				b.Fatal(err)
			}
			last = out[0]
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "builds/s")
	})
	b.Run("UpdateJob", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.UpdateJob(ctx, last.ID, func(j *store.Job) error { j.Attempts++; return nil }); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "updates/s")
	})
}
