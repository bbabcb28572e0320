package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/moby/client"

	"github.com/openwrt-ppa/openwrt-ppa/app/local"
	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/builder/docker"
	"github.com/openwrt-ppa/openwrt-ppa/builder/feedmirror"
)

// listFlag is a repeatable flag that also takes comma-separated values.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// runBuild builds a repository's packages in SDK containers and publishes a signed feed.
func runBuild(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := commandFlags("build", stderr,
		"usage: openwrt-ppa build [--series S]... [--arch A]... [--image IMG] [--out DIR] [--key KEY] [--apk-key PEM] [--ref REF] [--base-url URL] SOURCE[@REF]",
		"\nBuilds the OpenWrt packages of SOURCE with the OpenWrt SDK in Docker containers, for each",
		"series and arch, and publishes a signed feed into DIR/<series>/<arch>/ (apk for 25.12 and",
		"snapshots, opkg for 24.10 and older) with the public keys at DIR/key.pem and DIR/key.pub.",
		"Prints the lines to paste on a router. Needs a Docker engine.",
		"",
		"SOURCE is a git URL (https://…, ssh://…, git@host:o/r.git), a local git repository (a path or",
		"file:///path), whose commit is built (HEAD, or REF), or a folder that is not a git",
		"repository, which is built as it is (uncommitted files included, like `docker build .`).",
		"ssh URLs use --ssh-key, else the ssh agent (SSH_AUTH_SOCK).",
		"",
		"Exit status: 0 when every package was built and published (a package skipped for an arch",
		"it is not made for aside, as long as something was built); 1 when a package failed, nothing",
		"was built or the build was interrupted; 2 for a mistake on the command line.")
	var series, archs, labels listFlag
	fl.Var(&series, "series", "release series to build for (repeatable; default: the repository's .openwrt-ppa.yml, else 25.12)")
	fl.Var(&archs, "arch", "package architecture to build for (repeatable; default: the repository's config, else five common ones)")
	image := fl.String("image", "", "SDK image for every job instead of ghcr.io/openwrt/sdk:<arch>-<release> (e.g. openwrt-ppa/sdk-standin:latest)")
	registry := fl.String("registry", "", "SDK image repository to use instead of ghcr.io/openwrt/sdk (a mirror)")
	out := fl.String("out", "feed", "folder for the feed: DIR/<series>/<arch>/, DIR/key.pem and DIR/key.pub")
	key := fl.String("key", "", "usign secret key file to sign opkg feeds with (default: one made once in the user's configuration folder)")
	apkKey := fl.String("apk-key", "", "PEM secret key file to sign apk feeds with (default: one made once in the user's configuration folder)")
	ref := fl.String("ref", "", "branch, tag or commit to build (or write SOURCE@REF)")
	sshKey := fl.String("ssh-key", "", "private key `FILE` for an ssh SOURCE (default: the keys of the ssh agent)")
	asIs := fl.Bool("as-is", false, "build a local git repository's folder as it is, uncommitted changes included, not its commit")
	baseURL := fl.String("base-url", "", "URL where DIR will be served, for the printed router lines (default: a placeholder to replace)")
	network := fl.String("network", "bridge", "network of the build containers (downloads need one; \"none\" for offline builds)")
	cachePrefix := fl.String("cache-volume-prefix", "openwrt-ppa-cache", "name prefix of the Docker volumes that cache downloads and feeds between builds")
	fl.Var(&labels, "label", "`KEY=VALUE` label on the build containers and volumes (repeatable), e.g. for a CI runner's clean-up")
	timeout := fl.Duration("timeout", 60*time.Minute, "wall-clock limit of each job")
	verbose := fl.Bool("v", false, "stream the build log")
	githubFeeds := fl.Bool("github-feeds", true, "fetch the standard feeds from github.com/openwrt instead of git.openwrt.org (as OpenWrt's own CI action does)")
	useMirror := fl.Bool("feed-mirror", true, "fetch the standard feeds the SDK pins once into the cache folder and share them read-only into the builds (which then need no network for feeds)")
	var rewrites listFlag
	fl.Var(&rewrites, "feed-url-rewrite", "FROM=TO: fetch mirrored feeds whose URL starts with FROM from TO instead (repeatable)")
	if code, ok := parseFlags(fl, args, 1, stderr, "give exactly one SOURCE (a git URL or a local path)"); !ok {
		return code
	}
	var rw []feedmirror.Rewrite
	for _, r := range rewrites {
		p, err := feedmirror.ParseRewrite(r)
		if err != nil {
			fmt.Fprintf(stderr, "openwrt-ppa build: --feed-url-rewrite: %v\n", err)
			return 2
		}
		rw = append(rw, p)
	}
	if *githubFeeds {
		rw = append(rw, feedmirror.GitHubRewrites...)
	}
	labelMap := map[string]string{}
	for _, l := range labels {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			fmt.Fprintf(stderr, "openwrt-ppa build: --label %q is not KEY=VALUE\n", l)
			return 2
		}
		labelMap[k] = v
	}
	opt := local.Options{
		Source: fl.Arg(0), Ref: *ref, Series: series, Archs: archs, Image: *image, Registry: *registry,
		OutDir: *out, KeyFile: *key, APKKeyFile: *apkKey, SSHKey: *sshKey, AsIs: *asIs, BaseURL: *baseURL,
		Limits: builder.Limits{Timeout: *timeout}, Progress: stderr, Logger: slog.New(slog.DiscardHandler),
	}
	// What needs nothing fetched is checked before Docker is asked for anything.
	if err := local.Check(opt); err != nil {
		return buildFailed(stderr, err)
	}
	cfgDir, cacheDir, err := userDirs()
	if err != nil {
		fmt.Fprintf(stderr, "openwrt-ppa build: %v\n", err)
		return 1
	}
	cli, err := client.New(client.FromEnv)
	if err == nil {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err = cli.Ping(pctx, client.PingOptions{NegotiateAPIVersion: true})
		cancel()
	}
	if err != nil {
		fmt.Fprintf(stderr, "openwrt-ppa build: no Docker engine answers (%v); start dockerd or set DOCKER_HOST\n", err)
		return 1
	}
	defer cli.Close()

	var mirror *feedmirror.Mirror
	if *useMirror {
		if mirror, err = feedmirror.New(feedmirror.Options{Dir: filepath.Join(cacheDir, "feedmirror"), Rewrites: rw}); err != nil {
			fmt.Fprintf(stderr, "openwrt-ppa build: %v\n", err)
			return 1
		}
	}
	opt.ConfigDir, opt.CacheDir = cfgDir, cacheDir
	opt.Executor = docker.New(cli, docker.Options{Network: *network, Pull: true, CachePrefix: *cachePrefix, Labels: labelMap,
		GitHubFeeds: *githubFeeds, FeedMirror: mirror})
	if *verbose {
		opt.Log = stderr
	}
	res, err := local.Build(ctx, opt)
	if err != nil {
		return buildFailed(stderr, err)
	}
	if len(res.Lines) > 0 {
		base := *baseURL
		if base == "" {
			fmt.Fprintf(stdout, "# Serve %s over HTTP(S) and replace %s with its URL, then on the router:\n", *out, local.PlaceholderBaseURL)
		} else {
			fmt.Fprintln(stdout, "# On the router:")
		}
		for _, l := range res.Lines {
			fmt.Fprintln(stdout, l)
		}
	}
	fmt.Fprintf(stderr, "openwrt-ppa build: %s\n", res.Closing(*out))
	if !res.OK() {
		return 1
	}
	return 0
}

// buildFailed reports what stopped a build: a mistake on the command line exits 2, with the
// usage pointer; anything else 1.
func buildFailed(stderr io.Writer, err error) int {
	var fe *local.FlagError
	if errors.As(err, &fe) {
		fmt.Fprintf(stderr, "openwrt-ppa build: %v (see --help)\n", err)
		return 2
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "openwrt-ppa build: interrupted; the build containers and the work folder are removed")
		return 1
	}
	fmt.Fprintf(stderr, "openwrt-ppa build: %v\n", err)
	return 1
}

// userDirs are where the default signing key and the clone cache live.
func userDirs() (cfg, cache string, err error) {
	c, err := os.UserConfigDir()
	if err != nil {
		return "", "", fmt.Errorf("finding the configuration folder for the default key (set HOME or pass --key): %w", err)
	}
	k, err := os.UserCacheDir()
	if err != nil {
		return "", "", fmt.Errorf("finding the cache folder (set HOME or XDG_CACHE_HOME): %w", err)
	}
	return filepath.Join(c, "openwrt-ppa"), filepath.Join(k, "openwrt-ppa"), nil
}
