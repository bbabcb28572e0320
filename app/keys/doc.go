// Package keys holds what proves and guards a repository's feeds: the key ring of usign signing
// keys (main for branches and tags, preview for pull requests; files in the embedded mode, sealed
// in the store in Redis mode), their backup format (`openwrt-ppa keys export|import`), and the
// read tokens that open a private repository's feeds to its routers. Keys never enter a build
// container: the service signs after the build.
package keys
