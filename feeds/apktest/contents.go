package apktest

import (
	"fmt"
	"io"
	"path"

	"github.com/openwrt-ppa/openwrt-ppa/feeds/adb"
)

// Contents is what an .apk would install: its files by path ("etc/config/x"; a symlink's
// content is its target) and its scripts by apk's name ("post-install").
type Contents struct {
	Files   map[string][]byte
	Scripts map[string]string
}

var scriptNames = map[int]string{
	adb.ScriptTrigger: "trigger", adb.ScriptPreInstall: "pre-install", adb.ScriptPostInstall: "post-install",
	adb.ScriptPreDeinstall: "pre-deinstall", adb.ScriptPostDeinstall: "post-deinstall",
	adb.ScriptPreUpgrade: "pre-upgrade", adb.ScriptPostUpgrade: "post-upgrade",
}

// ReadContents reads a whole .apk v3 package within lim, as apk would unpack it, so a test can
// check what a built package holds. No apk installer is needed.
func ReadContents(r io.Reader, lim adb.Limits) (*Contents, error) {
	type ref struct{ dir, file uint32 }
	data := map[ref][]byte{}
	x := adb.Reader{OnData: func(dir, file uint32, content io.Reader) error {
		b, err := io.ReadAll(content)
		data[ref{dir, file}] = b
		return err
	}}
	f, err := x.ReadFile(r, lim)
	if err != nil {
		return nil, err
	}
	if f.Schema != adb.SchemaPackage {
		return nil, fmt.Errorf("not a package (schema 0x%08x)", f.Schema)
	}
	db := adb.DB(f.ADB)
	root, err := db.Obj(db.Root())
	if err != nil {
		return nil, err
	}
	c := &Contents{Files: map[string][]byte{}, Scripts: map[string]string{}}
	dirs, err := root.Obj(adb.PackagePaths)
	if err != nil {
		return nil, fmt.Errorf("paths: %w", err)
	}
	for di := 1; di <= dirs.Elems(); di++ {
		d, err := dirs.Obj(di)
		if err != nil {
			return nil, fmt.Errorf("directory %d: %w", di, err)
		}
		name, err := d.Blob(adb.DirName)
		if err != nil {
			return nil, fmt.Errorf("directory %d: %w", di, err)
		}
		files, err := d.Obj(adb.DirFiles)
		if err != nil {
			return nil, fmt.Errorf("directory %s: %w", name, err)
		}
		for fi := 1; fi <= files.Elems(); fi++ {
			file, err := files.Obj(fi)
			if err != nil {
				return nil, fmt.Errorf("directory %s, file %d: %w", name, fi, err)
			}
			base, err := file.Blob(adb.FileName)
			if err != nil {
				return nil, fmt.Errorf("directory %s, file %d: %w", name, fi, err)
			}
			p := path.Join(string(name), string(base))
			if target, err := file.Blob(adb.FileTarget); err == nil && len(target) >= 2 {
				c.Files[p] = target[2:] // after the u16 file type
				continue
			}
			content := data[ref{uint32(di), uint32(fi)}]
			if content == nil {
				content = []byte{}
			}
			c.Files[p] = content
		}
	}
	scripts, err := root.Obj(adb.PackageScripts)
	if err != nil {
		return nil, fmt.Errorf("scripts: %w", err)
	}
	for i, name := range scriptNames {
		if s, err := scripts.Blob(i); err != nil {
			return nil, fmt.Errorf("script %s: %w", name, err)
		} else if len(s) > 0 {
			c.Scripts[name] = string(s)
		}
	}
	return c, nil
}
