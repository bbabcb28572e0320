// Package remote builds repositories registered by their git URL (forge "git"), with no forge
// App or token behind them: registration (URL check, name, quota), the forge driver the other
// stages talk to (reading .openwrt-ppa.yml, the checkout's URL and deploy key; no checks to
// report to), the poller that lists each repository's refs and turns moved refs into push
// events for app/events, and the per-repository push webhook that makes it look at once.
package remote
