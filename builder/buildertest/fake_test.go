package buildertest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/builder/buildertest"
)

func job() builder.Job {
	return builder.Job{Series: "24.10", Arch: "x86_64", Image: "fake", Format: builder.FormatIPK,
		Packages: []string{"a", "b", "c", "d"},
		Units:    []builder.Unit{{Dir: "a", Name: "a", Packages: []string{"a"}}, {Dir: "b", Name: "b", Packages: []string{"b", "c"}}, {Dir: "d", Name: "d", Packages: []string{"d"}}}}
}

func TestFakeExecutorThroughExecute(t *testing.T) {
	cases := map[string]struct {
		out        buildertest.Outcome
		limits     builder.Limits
		wantStatus builder.JobStatus
		want       map[string]builder.PackageStatus
	}{
		"all built": {wantStatus: builder.JobSucceeded,
			want: map[string]builder.PackageStatus{"a": builder.PackageBuilt, "b": builder.PackageBuilt, "c": builder.PackageBuilt, "d": builder.PackageBuilt}},
		"one fails, one skipped": {out: buildertest.Outcome{Failed: map[string]string{"a": "compile"}, Skipped: []string{"d"}}, wantStatus: builder.JobFailed,
			want: map[string]builder.PackageStatus{"a": builder.PackageFailed, "b": builder.PackageBuilt, "c": builder.PackageBuilt, "d": builder.PackageSkipped}},
		"hang hits the time limit": {out: buildertest.Outcome{Hang: true}, limits: builder.Limits{Timeout: 50 * time.Millisecond}, wantStatus: builder.JobTimedOut,
			want: map[string]builder.PackageStatus{"a": builder.PackageFailed, "b": builder.PackageFailed, "c": builder.PackageFailed, "d": builder.PackageFailed}},
		"job step fails": {out: buildertest.Outcome{JobFail: "feeds-update"}, wantStatus: builder.JobFailed,
			want: map[string]builder.PackageStatus{"a": builder.PackageFailed, "b": builder.PackageFailed, "c": builder.PackageFailed, "d": builder.PackageFailed}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ex := &buildertest.Executor{Script: func(builder.JobSpec) buildertest.Outcome { return tc.out }}
			res, err := builder.Execute(context.Background(), ex, builder.JobSpec{Job: job(), Limits: tc.limits}, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tc.wantStatus {
				t.Fatalf("status %s (%s), want %s", res.Status, res.Message, tc.wantStatus)
			}
			for _, p := range res.Packages {
				if p.Status != tc.want[p.Name] {
					t.Errorf("%s: %s (%s), want %s", p.Name, p.Status, p.Reason, tc.want[p.Name])
				}
				if p.Status == builder.PackageBuilt && len(p.Files) != 1 {
					t.Errorf("%s built without its file", p.Name)
				}
				if p.Status == builder.PackageFailed && p.Step == "compile" && len(p.Log) == 0 && !res.Exit.TimedOut {
					t.Errorf("%s failed without its log", p.Name)
				}
			}
			if ex.Open() != 0 {
				t.Errorf("%d runs left open", ex.Open())
			}
		})
	}
}

func TestFakeExecutorCancel(t *testing.T) {
	ex := &buildertest.Executor{Script: func(builder.JobSpec) buildertest.Outcome { return buildertest.Outcome{Hang: true} }}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	res, err := builder.Execute(ctx, ex, builder.JobSpec{Job: job()}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != builder.JobCanceled {
		t.Fatalf("status %s, want canceled", res.Status)
	}
	if ex.Open() != 0 {
		t.Fatalf("%d runs left open", ex.Open())
	}
}

// TestAPKJobMakesAPKFiles: a job of an apk series makes <name>-<version>.apk files with the
// given writer, and the results name them.
func TestAPKJobMakesAPKFiles(t *testing.T) {
	ex := &buildertest.Executor{APK: func(name, version, arch string, _ []byte) ([]byte, error) {
		return []byte("apk " + name + " " + version + " " + arch), nil
	}}
	j := job()
	j.Format = builder.FormatAPK
	res, err := builder.Execute(context.Background(), ex, builder.JobSpec{Job: j}, t.TempDir())
	if err != nil || res.Status != builder.JobSucceeded {
		t.Fatalf("status %s (%s), err %v", res.Status, res.Message, err)
	}
	if len(res.Files) == 0 {
		t.Fatal("no files")
	}
	for _, f := range res.Files {
		if !strings.HasSuffix(f, "-1.0-r1.apk") {
			t.Errorf("file %s is not <name>-<version>.apk", f)
		}
	}
	for _, p := range res.Packages {
		if p.Status != builder.PackageBuilt || len(p.Files) != 1 {
			t.Errorf("package %+v: want built with its one .apk", p)
		}
	}
}
