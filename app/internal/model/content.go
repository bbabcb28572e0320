package model

import (
	"context"
	"errors"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// ImageDigester is the optional capability of an executor to tell the content digest an SDK
// image reference stands for on its engine now, without pulling it: "" when it does not have
// the image. The content key needs it, so that a result built in another image is never reused.
type ImageDigester interface {
	ImageDigest(ctx context.Context, ref string) (string, error)
}

// Trust is the trust scope of a build of ref: pull requests (forks too) apart from the
// repository's own branches and tags, whose results are published with the main key.
func Trust(ref store.Ref) builder.TrustScope {
	if ref.Kind == store.RefPR {
		return builder.TrustPullRequest
	}
	return builder.TrustRef
}

// ContentInput is what a job's content key is made of, as the stages know it.
type ContentInput struct {
	Repo        store.Repository
	Ref         store.Ref
	Commit      string
	Series      string
	Arch        string
	Image       string
	ImageDigest string
	Config      builder.Config
	ConfigRaw   []byte
}

// ContentKey is the key under which a job's result may stand for an identical job's, or ""
// when it may not be reused (the image's digest or a feed's commit is not known): such a job is
// always built, and what it built is kept for nobody.
func ContentKey(in ContentInput) (string, error) {
	key, err := builder.ContentKey(builder.ContentInput{
		Repo: in.Repo.Forge + "/" + in.Repo.ForgeID, Commit: in.Commit, Series: in.Series, Arch: in.Arch,
		Image: in.Image, ImageDigest: in.ImageDigest, Trust: Trust(in.Ref), ConfigRaw: in.ConfigRaw,
		Feeds: in.Config.Feeds,
	})
	if errors.Is(err, builder.ErrNotReusable) {
		return "", nil
	}
	return key, err
}

// Digest asks d for the digest of image; nil, or one that fails, knows none.
func Digest(ctx context.Context, d ImageDigester, image string) string {
	if d == nil || image == "" {
		return ""
	}
	dg, err := d.ImageDigest(ctx, image)
	if err != nil {
		return ""
	}
	return dg
}
