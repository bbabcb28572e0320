// Package local is `openwrt-ppa build`: one repository, from a git URL or a folder, built in the
// SDK containers of this machine and published as signed feed folders in an output directory,
// with the lines a router owner pastes. It shares the builder and feeds packages with the service
// but none of its state: no store, no queue, no forge, so a packager can try a repository before
// anyone installs the app.
package local
