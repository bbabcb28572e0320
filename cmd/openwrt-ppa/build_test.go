package main

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"
)

func TestBuildUsage(t *testing.T) {
	cases := map[string]struct {
		args     []string
		code     int
		inStderr string
	}{
		"help":         {args: []string{"--help"}, code: 0, inStderr: "SOURCE[@REF]"},
		"no source":    {args: nil, code: 2, inStderr: "give exactly one SOURCE"},
		"two sources":  {args: []string{"a", "b"}, code: 2, inStderr: "give exactly one SOURCE"},
		"unknown flag": {args: []string{"--nope", "a"}, code: 2, inStderr: "flag provided but not defined"},
		"bad duration": {args: []string{"--timeout", "soon", "a"}, code: 2, inStderr: "invalid value"},
		"bad rewrite":  {args: []string{"--feed-url-rewrite", "https://git.openwrt.org/=file:///srv/", "a"}, code: 2, inStderr: "http(s)"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := runBuild(context.Background(), tc.args, &stdout, &stderr); code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", code, tc.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.inStderr) {
				t.Fatalf("stderr lacks %q:\n%s", tc.inStderr, stderr.String())
			}
		})
	}
}

func TestListFlag(t *testing.T) {
	var l listFlag
	for _, v := range []string{"24.10", "23.05, snapshot", ""} {
		if err := l.Set(v); err != nil {
			t.Fatal(err)
		}
	}
	if want := (listFlag{"24.10", "23.05", "snapshot"}); !reflect.DeepEqual(l, want) {
		t.Fatalf("got %v, want %v", l, want)
	}
}
