package apktest

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/apksign"
)

// Mkpkg builds a package from an `apk mkpkg` command line (args without "mkpkg"), the subset
// OpenWrt's include/package-pack.mk uses: --info KEY:VALUE (name, version, description, arch,
// license, origin, maintainer, url, provider-priority, depends, provides, replaces, install-if,
// recommends, tags; lists separated by spaces), --script TYPE:FILE, --files DIR, --output FILE,
// --sign-key PEM (also --sign). It lets the SDK stand-in run the SDK's own command through a
// small helper built from the project's writer, so no apk binary is needed.
func Mkpkg(ctx context.Context, args []string) error {
	var spec feeds.APKSpec
	var files, output, signKey string
	spec.Scripts = map[string]string{}
	for len(args) > 0 {
		opt := args[0]
		val, hasVal := "", false
		if k, v, ok := strings.Cut(opt, "="); ok && strings.HasPrefix(k, "--") {
			opt, val, hasVal = k, v, true
		} else if len(args) > 1 {
			val, hasVal = args[1], true
			args = args[1:]
		}
		args = args[1:]
		if !hasVal {
			return fmt.Errorf("mkpkg: %s needs a value", opt)
		}
		switch opt {
		case "--info", "-I":
			if err := setInfo(&spec.Info, val); err != nil {
				return err
			}
		case "--script", "-s":
			kind, file, ok := strings.Cut(val, ":")
			if !ok {
				return fmt.Errorf("mkpkg: --script %q: want TYPE:FILE", val)
			}
			text, err := os.ReadFile(file)
			if err != nil {
				return fmt.Errorf("mkpkg: script %s: %w", kind, err)
			}
			spec.Scripts[kind] = string(text)
		case "--files", "-F":
			files = val
		case "--output", "-o":
			output = val
		case "--sign-key", "--sign":
			signKey = val
		default:
			return fmt.Errorf("mkpkg: option %s is not supported here", opt)
		}
	}
	if output == "" {
		output = spec.Info.Name + "-" + spec.Info.Version + ".apk"
	}
	if files != "" {
		var err error
		if spec.Files, err = feeds.APKFilesFromDir(files); err != nil {
			return fmt.Errorf("mkpkg: %w", err)
		}
	}
	var signers []feeds.ADBSigner
	if signKey != "" {
		data, err := os.ReadFile(signKey)
		if err != nil {
			return fmt.Errorf("mkpkg: %w", err)
		}
		k, err := apksign.ParseSecretKey(data)
		if err != nil {
			return fmt.Errorf("mkpkg: %s: %w", signKey, err)
		}
		signers = append(signers, k)
	}
	f, err := os.Create(output)
	if err != nil {
		return fmt.Errorf("mkpkg: %w", err)
	}
	if err := feeds.WriteAPK(ctx, f, spec, signers...); err != nil {
		f.Close()
		os.Remove(output)
		return fmt.Errorf("mkpkg: %w", err)
	}
	return f.Close()
}

func setInfo(i *feeds.APKInfo, kv string) error {
	key, val, ok := strings.Cut(kv, ":")
	if !ok {
		return fmt.Errorf("mkpkg: --info %q: want KEY:VALUE", kv)
	}
	deps := func(dst *[]feeds.APKDep) error {
		for _, s := range strings.Fields(val) {
			d, err := feeds.ParseAPKDep(s)
			if err != nil {
				return fmt.Errorf("mkpkg: %s: %w", key, err)
			}
			*dst = append(*dst, d)
		}
		return nil
	}
	switch key {
	case "name":
		i.Name = val
	case "version":
		i.Version = val
	case "description":
		i.Description = val
	case "arch":
		i.Arch = val
	case "license":
		i.License = val
	case "origin":
		i.Origin = val
	case "maintainer":
		i.Maintainer = val
	case "url":
		i.URL = val
	case "provider-priority":
		n, err := strconv.ParseUint(val, 10, 32)
		if err != nil {
			return fmt.Errorf("mkpkg: provider-priority %q is not a number", val)
		}
		i.ProviderPriority = n
	case "depends":
		return deps(&i.Depends)
	case "provides":
		return deps(&i.Provides)
	case "replaces":
		return deps(&i.Replaces)
	case "install-if":
		return deps(&i.InstallIf)
	case "recommends":
		return deps(&i.Recommends)
	case "tags":
		i.Tags = append(i.Tags, strings.Fields(val)...)
	default:
		return fmt.Errorf("mkpkg: --info %s is not supported here", key)
	}
	return nil
}
