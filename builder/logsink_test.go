package builder

import (
	"reflect"
	"strings"
	"testing"
)

type collect []string

func (c *collect) Line(l string) { *c = append(*c, l) }

func TestLineWriter(t *testing.T) {
	cases := map[string]struct {
		writes []string
		want   []string
	}{
		"whole lines":      {writes: []string{"a\nb\n"}, want: []string{"a", "b"}},
		"split across":     {writes: []string{"he", "llo\nwor", "ld"}, want: []string{"hello", "world"}},
		"crlf":             {writes: []string{"dos\r\n"}, want: []string{"dos"}},
		"empty lines kept": {writes: []string{"\n\n"}, want: []string{"", ""}},
		"long line cut":    {writes: []string{strings.Repeat("x", MaxLineBytes+3) + "\n"}, want: []string{strings.Repeat("x", MaxLineBytes), "xxx"}},
		"endless line":     {writes: []string{strings.Repeat("y", MaxLineBytes), strings.Repeat("y", MaxLineBytes)}, want: []string{strings.Repeat("y", MaxLineBytes), strings.Repeat("y", MaxLineBytes)}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var got collect
			w := NewLineWriter(&got)
			for _, s := range tc.writes {
				if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			w.Flush()
			if !reflect.DeepEqual([]string(got), tc.want) {
				t.Fatalf("lines %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCappedLogKeepsTheTail(t *testing.T) {
	var got collect
	c := NewCappedLog(&got, 10, 2) // "aaaa\n" is 5 bytes: two lines fit
	for _, l := range []string{"aaaa", "bbbb", "cccc", "dddd", "eeee", "ffff"} {
		c.Line(l)
	}
	if !c.Truncated() {
		t.Fatal("not truncated")
	}
	c.Close()
	want := []string{"aaaa", "bbbb", "[openwrt-ppa: log cap of 10 bytes reached: 2 lines (10 bytes) left out; the last 2 lines follow]", "eeee", "ffff"}
	if !reflect.DeepEqual([]string(got), want) {
		t.Fatalf("lines %q\nwant %q", got, want)
	}

	var small collect
	c = NewCappedLog(&small, 100, 5)
	c.Line("only")
	c.Close()
	if !reflect.DeepEqual([]string(small), []string{"only"}) || c.Truncated() {
		t.Fatalf("under the cap: %q", small)
	}
}

func TestLogTail(t *testing.T) {
	tail := NewLogTail(3)
	for i := range 10 {
		tail.Line(strings.Repeat("z", i))
	}
	if got := tail.Lines(); !reflect.DeepEqual(got, []string{"zzzzzzz", "zzzzzzzz", "zzzzzzzzz"}) {
		t.Fatalf("tail %q", got)
	}
}
