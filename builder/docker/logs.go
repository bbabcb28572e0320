package docker

import (
	"context"
	"strconv"
	"sync"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
)

// The last line the build driver prints at the end of a job, and of its fetch phase.
const (
	driverDone      = "::openwrt-ppa:: done"
	driverFetchDone = "::openwrt-ppa:: phase fetch done"
)

// recorder passes lines on and remembers the last ones, so the end of the log can be checked
// against the engine's copy once the build is over.
type recorder struct {
	mu   sync.Mutex
	next builder.LogSink
	last []string
	n    int
}

func (r *recorder) Line(l string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last = append(r.last, l)
	if len(r.last) > 2*r.n {
		r.last = append([]string(nil), r.last[len(r.last)-r.n:]...)
	}
	r.next.Line(l)
}

func (r *recorder) tail() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.last...)
}

// missingTail returns the lines at the end of engine (the engine's last lines) that got (the last
// lines streamed) lacks, and whether they could be matched up at all.
func missingTail(got, engine []string) ([]string, bool) {
	if len(engine) == 0 {
		return nil, true
	}
	if len(got) == 0 {
		return engine, false
	}
	// Find the longest suffix of got that is a prefix-ending in engine: engine[..i] ends with got's tail.
	for i := len(engine) - 1; i >= 0; i-- {
		k := 0
		for k <= i && k < len(got) && engine[i-k] == got[len(got)-1-k] {
			k++
		}
		if k == len(got) || k == i+1 || k >= 3 {
			return engine[i+1:], true
		}
	}
	return engine, false
}

// completeLog appends what the live stream lost at the end. Docker 20.10 can stop following a
// json-file log at rotation (a flood makes it rotate), which would lose the lines that explain
// how the build ended.
func (r *run) completeLog(ctx context.Context, id, done string) {
	if got := r.rec.tail(); len(got) > 0 && got[len(got)-1] == done {
		return // the driver's last line arrived: nothing was lost at the end
	}
	res, err := r.e.cli.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Tail: strconv.Itoa(logTailLines)})
	if err != nil {
		return
	}
	defer res.Close()
	var engine []string
	w := builder.NewLineWriter(builder.LogFunc(func(l string) { engine = append(engine, l) }))
	_, _ = stdcopy.StdCopy(w, w, res)
	w.Flush()
	missing, matched := missingTail(r.rec.tail(), engine)
	if len(missing) == 0 {
		return
	}
	if !matched {
		r.rec.Line("[openwrt-ppa: the live log lost lines; the engine's last " + strconv.Itoa(len(missing)) + " lines follow]")
	}
	for _, l := range missing {
		r.rec.Line(l)
	}
}
