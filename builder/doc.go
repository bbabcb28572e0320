// Package builder turns a repository at a commit into OpenWrt packages: it reads the
// repository's .openwrt-ppa.yml (ParseConfig) and package Makefiles (Discover), expands the
// build matrix against the SDK catalogue into jobs (MakePlan), checks the repository out with
// go-git (Checkouter), and runs each job through an Executor (Execute), which returns per-package
// results, the collected package files and logs.
//
// Executors live in subpackages: builder/docker (Docker Engine API) and, for tests of other
// packages, builder/buildertest. Inside the container every executor runs DriverScript, the
// sequence of the OpenWrt project's gh-action-sdk. Nothing here signs or publishes: that is the
// feeds package's work, wired by app. builder never imports feeds, forge or app.
package builder
