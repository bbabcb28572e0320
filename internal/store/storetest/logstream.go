package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// RunLogStream runs the log stream suite against the streams open makes (fresh for each test).
func RunLogStream(t *testing.T, open func(t *testing.T) store.LogStream) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, s store.LogStream)
	}{
		{"read from the start, continue from Next, done after Finish", func(t *testing.T, s store.LogStream) {
			c := ctx(t)
			if err := s.Append(c, "job/1", "one", "two"); err != nil {
				t.Fatal(err)
			}
			if err := s.Append(c, "job/1", "three"); err != nil {
				t.Fatal(err)
			}
			ch, err := s.Read(c, "job/1", "", 2)
			if err != nil || texts(ch) != "one two" || ch.Done {
				t.Fatalf("first Read = %q done=%v, %v", texts(ch), ch.Done, err)
			}
			if ch.Lines[0].Time.IsZero() || ch.Lines[1].Offset != ch.Next {
				t.Fatalf("lines lack time or offsets: %+v next %q", ch.Lines, ch.Next)
			}
			if err := s.Finish(c, "job/1"); err != nil {
				t.Fatal(err)
			}
			ch, err = s.Read(c, "job/1", ch.Next, 10)
			if err != nil || texts(ch) != "three" || !ch.Done {
				t.Fatalf("second Read = %q done=%v, %v; want three, done", texts(ch), ch.Done, err)
			}
			again, err := s.Read(c, "job/1", ch.Next, 10)
			if err != nil || len(again.Lines) != 0 || !again.Done {
				t.Fatalf("Read past the end = %+v, %v; want done at once", again, err)
			}
			whole, err := s.Read(c, "job/1", "", 0)
			if err != nil || texts(whole) != "one two three" || !whole.Done {
				t.Fatalf("a late reader from the start = %q done=%v, %v", texts(whole), whole.Done, err)
			}
		}},
		{"read blocks until a line arrives, every reader gets it", func(t *testing.T, s store.LogStream) {
			type res struct {
				ch  store.LogChunk
				err error
			}
			got := make(chan res, 2)
			for range 2 {
				go func() {
					ch, err := s.Read(ctx(t), "job/2", "", 10)
					got <- res{ch, err}
				}()
			}
			time.Sleep(150 * time.Millisecond)
			if err := s.Append(ctx(t), "job/2", "hello"); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				select {
				case r := <-got:
					if r.err != nil || texts(r.ch) != "hello" {
						t.Fatalf("waiting reader got %q, %v", texts(r.ch), r.err)
					}
				case <-time.After(5 * time.Second):
					t.Fatal("a waiting reader did not wake up")
				}
			}
		}},
		{"read of a silent stream ends with the context", func(t *testing.T, s store.LogStream) {
			c, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
			defer cancel()
			if _, err := s.Read(c, "job/none", "", 10); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Read = %v, want DeadlineExceeded", err)
			}
		}},
		{"streams are separate and keep order under load", func(t *testing.T, s store.LogStream) {
			c := ctx(t)
			for i := range 500 {
				if err := s.Append(c, "job/a", fmt.Sprint(i)); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Append(c, "job/b", "b only"); err != nil {
				t.Fatal(err)
			}
			_ = s.Finish(c, "job/a")
			var all []string
			next := ""
			for {
				ch, err := s.Read(c, "job/a", next, 64)
				if err != nil {
					t.Fatal(err)
				}
				for _, l := range ch.Lines {
					all = append(all, l.Text)
				}
				next = ch.Next
				if ch.Done {
					break
				}
			}
			if len(all) != 500 || all[0] != "0" || all[499] != "499" {
				t.Fatalf("read %d lines, first %q", len(all), all[0])
			}
			for i, x := range all {
				if x != fmt.Sprint(i) {
					t.Fatalf("line %d is %q", i, x)
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, open(t)) })
	}
}

func texts(ch store.LogChunk) string {
	var out []string
	for _, l := range ch.Lines {
		out = append(out, l.Text)
	}
	return strings.Join(out, " ")
}
