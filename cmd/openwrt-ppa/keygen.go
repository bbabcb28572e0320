package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/openwrt-ppa/openwrt-ppa/feeds/apksign"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/usign"
	"github.com/openwrt-ppa/openwrt-ppa/internal/atomicfile"
)

// The key files keygen writes, named as the SDK names them: usign's key-build for opkg feeds,
// the ECDSA PEM pair (BUILD_KEY_APK_SEC, BUILD_KEY_APK_PUB) for apk feeds.
const (
	usignSecretFile = "key-build"
	usignPublicFile = "key-build.pub"
	apkSecretFile   = "private-key.pem"
	apkPublicFile   = "public-key.pem"
)

// runKeygen writes signing key pairs: usign for opkg feeds, ECDSA P-256 (PEM) for apk feeds.
func runKeygen(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fl := commandFlags("keygen", stderr,
		"usage: openwrt-ppa keygen --out DIR [--type both|usign|apk] [--comment TEXT] [--force]",
		"\nCreates signing key pairs without a passphrase and prints their ids, one a line:",
		"  usign (opkg feeds, up to 24.10): DIR/key-build (secret, mode 0600) and DIR/key-build.pub;",
		"    a router trusts it as /etc/opkg/keys/<fingerprint>.",
		"  apk (apk feeds, 25.12 on): DIR/private-key.pem (secret, mode 0600) and DIR/public-key.pem",
		"    (ECDSA P-256, as the SDK makes them); a router trusts it as /etc/apk/keys/<any name>.pem.")
	out := fl.String("out", "", "folder to write the keys into (created if missing)")
	kind := fl.String("type", "both", "which keys: both, usign (opkg) or apk")
	comment := fl.String("comment", "openwrt-ppa build key", "comment written into both usign key files")
	force := fl.Bool("force", false, "replace existing keys (every router trusting them must then get the new ones)")
	if code, ok := parseFlags(fl, args, -1, stderr, ""); !ok {
		return code
	}
	if *out == "" || fl.NArg() != 0 {
		fmt.Fprintln(stderr, "openwrt-ppa keygen: give the output folder with --out DIR (and no other arguments)")
		return 2
	}
	var files []string
	switch *kind {
	case "both":
		files = []string{usignSecretFile, usignPublicFile, apkSecretFile, apkPublicFile}
	case "usign":
		files = []string{usignSecretFile, usignPublicFile}
	case "apk":
		files = []string{apkSecretFile, apkPublicFile}
	default:
		fmt.Fprintf(stderr, "openwrt-ppa keygen: --type is %q; use both, usign or apk\n", *kind)
		return 2
	}
	if !*force {
		for _, name := range files {
			p := filepath.Join(*out, name)
			if _, err := os.Lstat(p); err == nil {
				fmt.Fprintf(stderr, "openwrt-ppa keygen: %s exists; keep it (routers trust it), or pass --force to replace it\n", p)
				return 1
			} else if !errors.Is(err, fs.ErrNotExist) {
				fmt.Fprintf(stderr, "openwrt-ppa keygen: %v\n", err)
				return 1
			}
		}
	}
	if err := os.MkdirAll(*out, 0o700); err != nil {
		fmt.Fprintf(stderr, "openwrt-ppa keygen: %v\n", err)
		return 1
	}
	write := func(name string, data []byte, secret bool) error {
		mode := os.FileMode(0o644)
		if secret {
			mode = 0o600
		}
		return atomicfile.WriteFile(filepath.Join(*out, name), data, mode)
	}
	if *kind != "apk" {
		fp, err := writeUsignKey(*comment, write)
		if err != nil {
			fmt.Fprintf(stderr, "openwrt-ppa keygen: writing the usign key: %v\n", err)
			return 1
		}
		fmt.Fprintln(stdout, fp)
		fmt.Fprintf(stderr, "wrote %s and %s; on a router install the public key as /etc/opkg/keys/%s\n",
			filepath.Join(*out, usignSecretFile), filepath.Join(*out, usignPublicFile), fp)
	}
	if *kind != "usign" {
		id, err := writeAPKKey(write)
		if err != nil {
			fmt.Fprintf(stderr, "openwrt-ppa keygen: writing the apk key: %v\n", err)
			return 1
		}
		fmt.Fprintln(stdout, id)
		fmt.Fprintf(stderr, "wrote %s and %s (key id %s); on a router install the public key as /etc/apk/keys/<name>.pem\n",
			filepath.Join(*out, apkSecretFile), filepath.Join(*out, apkPublicFile), id)
	}
	return 0
}

func writeUsignKey(comment string, write func(string, []byte, bool) error) (string, error) {
	key, err := usign.Generate(nil, comment)
	if err != nil {
		return "", err
	}
	sec, err := key.MarshalText()
	if err != nil {
		return "", err
	}
	pub, err := key.Public().MarshalText()
	if err != nil {
		return "", err
	}
	if err := write(usignSecretFile, sec, true); err != nil {
		return "", err
	}
	return key.Fingerprint.String(), write(usignPublicFile, pub, false)
}

func writeAPKKey(write func(string, []byte, bool) error) (string, error) {
	key, err := apksign.Generate(nil)
	if err != nil {
		return "", err
	}
	sec, err := key.MarshalPEM()
	if err != nil {
		return "", err
	}
	pub, err := key.Public().MarshalPEM()
	if err != nil {
		return "", err
	}
	if err := write(apkSecretFile, sec, true); err != nil {
		return "", err
	}
	return key.ID.String(), write(apkPublicFile, pub, false)
}
