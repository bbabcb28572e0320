package inproc

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store/storetest"
)

func TestLocker(t *testing.T) {
	storetest.RunLocker(t, func(*testing.T) store.Locker { return NewLocker() })
}

func TestLogStream(t *testing.T) {
	storetest.RunLogStream(t, func(*testing.T) store.LogStream { return NewLogStream(LogOptions{}) })
}

func TestLogStreamKeepsNewestLinesAndForgetsFinished(t *testing.T) {
	s := NewLogStream(LogOptions{MaxLines: 3, Retain: 1})
	c := t.Context()
	_ = s.Append(c, "j", "1", "2", "3", "4", "5")
	ch, err := s.Read(c, "j", "", 10)
	if err != nil || texts(ch) != "3 4 5" {
		t.Fatalf("Read after trimming = %q, %v; want the newest 3", texts(ch), err)
	}
	_ = s.Finish(c, "j")
	for range 100 {
		s.mu.Lock()
		_, ok := s.streams["j"]
		s.mu.Unlock()
		if !ok {
			return
		}
		testingSleep()
	}
	t.Fatal("a finished stream was not forgotten after its retention")
}

func texts(ch store.LogChunk) string {
	out := ""
	for i, l := range ch.Lines {
		if i > 0 {
			out += " "
		}
		out += l.Text
	}
	return out
}

func testingSleep() { time.Sleep(10 * time.Millisecond) }

func TestLogStreamReadersOfUnknownStreamsLeaveNothingBehind(t *testing.T) {
	s := NewLogStream(LogOptions{})
	for i := range 50 {
		c, cancel := context.WithTimeout(t.Context(), time.Millisecond)
		_, _ = s.Read(c, fmt.Sprint("gone/", i), "", 10)
		cancel()
	}
	s.mu.Lock()
	n := len(s.streams)
	s.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d empty streams kept after their readers left", n)
	}
}
