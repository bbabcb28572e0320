package datadir

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/internal/atomicfile"
)

// PullHead is the newest head of a pull request the service was told of, and when it was pushed
// (the time the forge's signed delivery gives): a /rebuild comment written before that time
// did not see this head.
type PullHead struct {
	SHA string
	At  time.Time
}

func (d Dir) pullHead(repoID int64, number int) string {
	return filepath.Join(d.Cache(), "pr-heads", fmt.Sprintf("%d-%d", repoID, number))
}

// NotePullHead records that the pull request's head became sha at at, unless a later head is
// recorded (deliveries may be handled out of order).
func (d Dir) NotePullHead(repoID int64, number int, sha string, at time.Time) error {
	if prev, ok := d.PullHeadOf(repoID, number); ok && prev.At.After(at) {
		return nil
	}
	p := d.pullHead(repoID, number)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFile(p, []byte(sha+" "+strconv.FormatInt(at.UnixNano(), 10)+"\n"), 0o644)
}

// PullHeadOf returns the recorded head of a pull request; ok is false when none is.
func (d Dir) PullHeadOf(repoID int64, number int) (PullHead, bool) {
	b, err := os.ReadFile(d.pullHead(repoID, number))
	if err != nil {
		return PullHead{}, false
	}
	sha, at, ok := strings.Cut(strings.TrimSpace(string(b)), " ")
	n, err := strconv.ParseInt(at, 10, 64)
	if !ok || err != nil || sha == "" {
		return PullHead{}, false
	}
	return PullHead{SHA: sha, At: time.Unix(0, n)}, true
}
