package testenv

import (
	"context"
	"time"

	"github.com/moby/moby/client"
)

// staleImageAge is how long a test image (stand-in, service image) that no container uses and no
// run has looked up stays on the engine. Worktrees and test packages share one engine, each with
// the content of its own tree, so its own content-addressed tag: an image that differs from this
// run's is another run's, not a stale one. Only one nobody has touched for a day (a test run lasts
// well under an hour) is surely left over, say from an older commit.
const staleImageAge = 24 * time.Hour

// useImage tells whether tag exists and, when it does, tags it again: Docker then records the
// time (LastTagTime), which tells pruneImages of other runs that the image is wanted.
func useImage(ctx context.Context, cli *client.Client, tag string) bool {
	_, err := cli.ImageTag(ctx, client.ImageTagOptions{Source: tag, Target: tag})
	return err == nil
}

// pruneImages removes, best effort, the images carrying label (a "key" or "key=value" filter)
// that no container uses, running or stopped, and that were neither built nor used (useImage)
// since olderThan ago. An image that also carries a tag of someone else's (`make sdk-standin`'s
// :latest) is left too: Docker refuses to remove an image by ID while it has several tags.
func pruneImages(ctx context.Context, cli *client.Client, label string, olderThan time.Duration) {
	list, err := cli.ImageList(ctx, client.ImageListOptions{Filters: make(client.Filters).Add("label", label)})
	if err != nil {
		return
	}
	containers, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true})
	if err != nil {
		return // without the list of containers, any image may be in use
	}
	inUse := map[string]bool{}
	for _, c := range containers.Items {
		inUse[c.ImageID] = true
	}
	var imgs []imageUse
	for _, img := range list.Items {
		u := imageUse{ID: img.ID, LastUsed: time.Unix(img.Created, 0)}
		if ins, err := cli.ImageInspect(ctx, img.ID); err != nil {
			continue // gone meanwhile, or unknown: leave it
		} else if ins.Metadata.LastTagTime.After(u.LastUsed) {
			u.LastUsed = ins.Metadata.LastTagTime
		}
		imgs = append(imgs, u)
	}
	for _, id := range staleImages(imgs, inUse, time.Now().Add(-olderThan)) {
		_, _ = cli.ImageRemove(ctx, id, client.ImageRemoveOptions{PruneChildren: true})
	}
}

// imageUse is what pruneImages knows of an image: its ID and when it was last built or used.
type imageUse struct {
	ID       string
	LastUsed time.Time
}

// staleImages returns the IDs of imgs that no container uses (inUse, by image ID) and that
// nobody built or used after cutoff.
func staleImages(imgs []imageUse, inUse map[string]bool, cutoff time.Time) []string {
	var out []string
	for _, img := range imgs {
		if !inUse[img.ID] && img.LastUsed.Before(cutoff) {
			out = append(out, img.ID)
		}
	}
	return out
}
