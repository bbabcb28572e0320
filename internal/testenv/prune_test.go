package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

func TestStaleImages(t *testing.T) {
	now := time.Now()
	cutoff := now.Add(-staleImageAge)
	old, fresh := now.Add(-2*staleImageAge), now.Add(-time.Minute)
	cases := []struct {
		name  string
		imgs  []imageUse
		inUse map[string]bool
		want  []string
	}{
		{"old and unused goes", []imageUse{{"a", old}}, nil, []string{"a"}},
		{"old but a container uses it stays", []imageUse{{"a", old}}, map[string]bool{"a": true}, nil},
		{"fresh stays", []imageUse{{"a", fresh}}, nil, nil},
		{"mixed", []imageUse{{"a", old}, {"b", fresh}, {"c", old}, {"d", old}}, map[string]bool{"c": true}, []string{"a", "d"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := staleImages(c.imgs, c.inUse, cutoff); !slices.Equal(got, c.want) {
				t.Errorf("staleImages = %v, want %v", got, c.want)
			}
		})
	}
}

// TestImagesOfOtherRunsStay is the shared-engine case: a second build of other content (another
// worktree's) leaves the first image, and only an image that is both unused and untouched for
// longer than the limit is removed. The images are this test's own (a repository of its own).
func TestImagesOfOtherRunsStay(t *testing.T) {
	cli := NeedDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	repo := "openwrt-ppa-test-prune/img-" + hex.EncodeToString(b)
	build := func(content string) string {
		t.Helper()
		tag, err := buildImage(ctx, cli, repo, "", map[string]imageFile{
			"Dockerfile": {data: []byte("FROM scratch\nCOPY f /f\n"), mode: 0o644},
			"f":          {data: []byte(content), mode: 0o644},
		})
		if err != nil {
			t.Fatalf("building %s: %v", repo, err)
		}
		t.Cleanup(func() { _, _ = cli.ImageRemove(context.Background(), tag, client.ImageRemoveOptions{Force: true}) })
		return tag
	}
	exists := func(tag string) bool {
		_, err := cli.ImageInspect(ctx, tag)
		return err == nil
	}
	a := build("run A's content")
	b1 := build("run B's content")
	if !exists(a) || !exists(b1) {
		t.Fatalf("after two builds of other content: %s there %v, %s there %v; want both", a, exists(a), b1, exists(b1))
	}

	// Looking an image up marks it as wanted now.
	before, err := cli.ImageInspect(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if !useImage(ctx, cli, a) {
		t.Fatalf("useImage(%s) = false for an image that exists", a)
	}
	after, err := cli.ImageInspect(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if !after.Metadata.LastTagTime.After(before.Metadata.LastTagTime) {
		t.Errorf("useImage left LastTagTime at %v (was %v)", after.Metadata.LastTagTime, before.Metadata.LastTagTime)
	}
	if useImage(ctx, cli, repo+":absent") {
		t.Error("useImage = true for a tag that does not exist")
	}

	// A container of A (never started) keeps it even when everything counts as stale.
	c, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config: &container.Config{Image: a, Cmd: []string{"/f"}, Labels: map[string]string{TestLabel: "1"}},
	})
	if err != nil {
		t.Fatalf("creating a container of %s: %v", a, err)
	}
	label := imageLabel + "=" + repo
	pruneImages(ctx, cli, label, staleImageAge)
	if !exists(a) || !exists(b1) {
		t.Fatalf("pruning fresh images removed one: %s there %v, %s there %v", a, exists(a), b1, exists(b1))
	}
	pruneImages(ctx, cli, label, -time.Hour) // every image of repo is "stale"
	if !exists(a) {
		t.Errorf("pruning removed %s, which a container uses", a)
	}
	if exists(b1) {
		t.Errorf("pruning left %s, unused and stale", b1)
	}
	if _, err := cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	pruneImages(ctx, cli, label, -time.Hour)
	if exists(a) {
		t.Errorf("pruning left %s, unused and stale once its container is gone", a)
	}
}
