package web

import (
	"strings"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// Feed formats, as Feed.Format names them.
const (
	FormatOPKG = "opkg" // .ipk packages, Packages index, usign key (24.10 and older)
	FormatAPK  = "apk"  // .apk v3 packages, packages.adb index, ECDSA key (25.12, snapshots)
)

// RouterLines are what a router runs to use one feed: trust the key, add the feed, update.
type RouterLines struct {
	Key    string `json:"key"`    // the key download; "" while the repository has no key
	Feed   string `json:"feed"`   // the line that adds the feed
	Update string `json:"update"` // "opkg update" or "apk update"
	// KeyFile is where the key goes on the router: /etc/opkg/keys/<fingerprint> or
	// /etc/apk/keys/<owner>_<repo>.pem.
	KeyFile string `json:"key_file,omitempty"`
}

// APKKeyName is the file name a router keeps the repository's apk key under in /etc/apk/keys/.
// apk finds a signature's key by the key itself, so any name works; the repository's feed name
// keeps two repositories' keys apart, and "-preview" the pull request key from the main one.
func APKKeyName(repo store.Repository) string { return FeedName(repo) + ".pem" }

func apkPreviewKeyName(repo store.Repository) string { return FeedName(repo) + "-preview.pem" }

// Lines writes the router lines for the feed at feedURL (no trailing slash) of repo, whose
// repository URL (with a private repository's read token) is base. keyID is the key's
// fingerprint (apk: its key id); "" when the repository has none yet, and then an opkg feed gets
// no key line (its file name is the fingerprint). An apk key's file name is free, so its line
// is always there.
func Lines(format string, repo store.Repository, base, feedURL, keyID string, preview bool) RouterLines {
	if format == FormatAPK {
		keyFile, name := "key.pem", APKKeyName(repo)
		if preview {
			keyFile, name = "preview-key.pem", apkPreviewKeyName(repo)
		}
		l := RouterLines{Update: "apk update", KeyFile: "/etc/apk/keys/" + name,
			Feed: "echo '" + feedURL + "/packages.adb' >> /etc/apk/repositories.d/customfeeds.list"}
		l.Key = "wget -O " + l.KeyFile + " " + base + "/-/" + keyFile
		return l
	}
	keyFile := "key.pub"
	if preview {
		keyFile = "preview-key.pub"
	}
	l := RouterLines{Update: "opkg update", Feed: "echo 'src/gz " + FeedName(repo) + " " + feedURL + "' >> /etc/opkg/customfeeds.conf"}
	if keyID != "" {
		l.KeyFile = "/etc/opkg/keys/" + keyID
		l.Key = "wget -O " + l.KeyFile + " " + base + "/-/" + keyFile
	}
	return l
}

// FormatOfFiles tells an apk feed from an opkg one by its package files' names, for pages that
// have only the package list; ok is false when there is none to tell by.
func FormatOfFiles(pkgs []Package) (format string, ok bool) {
	for _, p := range pkgs {
		switch {
		case strings.HasSuffix(p.Filename, ".apk"):
			return FormatAPK, true
		case strings.HasSuffix(p.Filename, ".ipk"):
			return FormatOPKG, true
		}
	}
	return FormatOPKG, false
}
