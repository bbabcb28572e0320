// Package feeds turns built packages into signed opkg feeds and serves them.
//
// It reads .ipk files (ReadIPK, ReadPackageFile) and checks their control stanzas before they can
// enter an index (ParseControl); it writes the index files exactly as the OpenWrt SDK's
// `make package/index` does (BuildIndex, IndexDir); it keeps feeds on disk under the layout of
// DESIGN.md and publishes into them atomically (Store); and it serves the feed root over HTTP
// (NewHandler). Signing goes through the Signer seam; feeds/usign implements it.
//
// feeds never imports builder, forge or app.
package feeds
