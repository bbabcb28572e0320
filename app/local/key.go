package local

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/openwrt-ppa/openwrt-ppa/feeds/apksign"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/usign"
	"github.com/openwrt-ppa/openwrt-ppa/internal/atomicfile"
)

// loadOrCreateKey reads the secret key file, or the default key in configDir (made once).
func loadOrCreateKey(keyFile, configDir string) (*usign.SecretKey, error) {
	if keyFile == "" {
		if configDir == "" {
			return nil, errors.New("no signing key: give --key FILE (made by openwrt-ppa keygen)")
		}
		keyFile = filepath.Join(configDir, "key-build")
		if _, err := os.Stat(keyFile); errors.Is(err, fs.ErrNotExist) {
			sk, err := usign.Generate(nil, "openwrt-ppa local build key")
			if err != nil {
				return nil, err
			}
			text, err := sk.MarshalText()
			if err != nil {
				return nil, err
			}
			if err := os.MkdirAll(configDir, 0o700); err != nil {
				return nil, fmt.Errorf("making %s: %w", configDir, err)
			}
			if err := atomicfile.WriteFile(keyFile, text, 0o600); err != nil {
				return nil, fmt.Errorf("writing the new signing key: %w", err)
			}
			return sk, nil
		}
	}
	data, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("reading the signing key: %w", err)
	}
	sk, err := usign.ParseSecretKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s is not a usign secret key (make one with openwrt-ppa keygen): %w", keyFile, err)
	}
	return sk, nil
}

// loadOrCreateAPKKey reads the PEM secret key file of apk feeds, or the default one in
// configDir (private-key.pem, made once).
func loadOrCreateAPKKey(keyFile, configDir string) (*apksign.SecretKey, error) {
	if keyFile == "" {
		if configDir == "" {
			return nil, errors.New("no apk signing key: give --apk-key FILE (private-key.pem, made by openwrt-ppa keygen)")
		}
		keyFile = filepath.Join(configDir, "private-key.pem")
		if _, err := os.Stat(keyFile); errors.Is(err, fs.ErrNotExist) {
			sk, err := apksign.Generate(nil)
			if err != nil {
				return nil, err
			}
			text, err := sk.MarshalPEM()
			if err != nil {
				return nil, err
			}
			if err := os.MkdirAll(configDir, 0o700); err != nil {
				return nil, fmt.Errorf("making %s: %w", configDir, err)
			}
			if err := atomicfile.WriteFile(keyFile, text, 0o600); err != nil {
				return nil, fmt.Errorf("writing the new apk signing key: %w", err)
			}
			return sk, nil
		}
	}
	data, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("reading the apk signing key: %w", err)
	}
	sk, err := apksign.ParseSecretKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s is not an apk (PEM, ECDSA P-256) secret key (make one with openwrt-ppa keygen --type apk): %w", keyFile, err)
	}
	return sk, nil
}
