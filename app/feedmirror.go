package app

import (
	"path/filepath"

	"github.com/openwrt-ppa/openwrt-ppa/builder/feedmirror"
)

// FeedMirror opens the mirror of the standard feeds under DATA/cache/feedmirror that executors
// share into builds, or returns nil when --feed-mirror is off. Every process sharing the data
// dir (serve, workers) shares it; its lock files keep their fetches apart.
func (rt *Runtime) FeedMirror() (*feedmirror.Mirror, error) {
	if !rt.Config.FeedMirror {
		return nil, nil
	}
	var rw []feedmirror.Rewrite
	for _, s := range rt.Config.FeedRewrites {
		r, err := feedmirror.ParseRewrite(s)
		if err != nil {
			return nil, err
		}
		rw = append(rw, r)
	}
	if rt.Config.GitHubFeeds {
		rw = append(rw, feedmirror.GitHubRewrites...)
	}
	return feedmirror.New(feedmirror.Options{Dir: filepath.Join(rt.Config.Data, "cache", "feedmirror"), Rewrites: rw, Logger: rt.log})
}
