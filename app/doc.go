// Package app assembles the service from its stages and serves it: the configuration (flags and
// OPENWRT_PPA_* environment), the Runtime that opens store, queue, feeds, keys and forges, the
// Service that wires the stages of the data's way (app/events → app/jobs → app/publish,
// app/report; app/upkeep behind them), the HTTP routes with the key and feed files, and the
// wiring of app/web. It holds no logic of a stage: docs/architecture.md is the map.
package app
