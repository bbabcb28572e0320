package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/openwrt-ppa/openwrt-ppa/feeds/usign"
	"github.com/openwrt-ppa/openwrt-ppa/internal/atomicfile"
)

// runKeygen writes a usign key pair as the SDK names it: key-build (secret) and key-build.pub.
func runKeygen(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fl := commandFlags("keygen", stderr,
		"usage: openwrt-ppa keygen --out DIR [--comment TEXT] [--force]",
		"\nCreates a usign (Ed25519) signing key pair without a passphrase: DIR/key-build (secret,",
		"mode 0600) and DIR/key-build.pub, and prints the key's fingerprint. A router trusts the key",
		"when key-build.pub is installed as /etc/opkg/keys/<fingerprint>.")
	out := fl.String("out", "", "folder to write key-build and key-build.pub into (created if missing)")
	comment := fl.String("comment", "openwrt-ppa build key", "comment written into both key files")
	force := fl.Bool("force", false, "replace an existing key (every router trusting it must then get the new one)")
	if code, ok := parseFlags(fl, args, -1, stderr, ""); !ok {
		return code
	}
	if *out == "" || fl.NArg() != 0 {
		fmt.Fprintln(stderr, "openwrt-ppa keygen: give the output folder with --out DIR (and no other arguments)")
		return 2
	}
	secPath, pubPath := filepath.Join(*out, "key-build"), filepath.Join(*out, "key-build.pub")
	if !*force {
		for _, p := range []string{secPath, pubPath} {
			if _, err := os.Lstat(p); err == nil {
				fmt.Fprintf(stderr, "openwrt-ppa keygen: %s exists; keep it (routers trust it), or pass --force to replace it\n", p)
				return 1
			} else if !errors.Is(err, fs.ErrNotExist) {
				fmt.Fprintf(stderr, "openwrt-ppa keygen: %v\n", err)
				return 1
			}
		}
	}
	key, err := usign.Generate(nil, *comment)
	if err != nil {
		fmt.Fprintf(stderr, "openwrt-ppa keygen: %v\n", err)
		return 1
	}
	sec, err := key.MarshalText()
	if err == nil {
		err = os.MkdirAll(*out, 0o700)
	}
	if err == nil {
		err = atomicfile.WriteFile(secPath, sec, 0o600)
	}
	if err == nil {
		var pub []byte
		if pub, err = key.Public().MarshalText(); err == nil {
			err = atomicfile.WriteFile(pubPath, pub, 0o644)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "openwrt-ppa keygen: writing the key: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s\n", key.Fingerprint)
	fmt.Fprintf(stderr, "wrote %s and %s; on a router install the public key as /etc/opkg/keys/%s\n", secPath, pubPath, key.Fingerprint)
	return 0
}
