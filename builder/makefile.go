package builder

import (
	"bufio"
	"bytes"
	"path"
	"regexp"
	"sort"
	"strings"
)

// SourcePackage is one package folder of a repository: a Makefile that includes the SDK's
// package.mk (or kernel.mk, luci.mk). Makefile reading only finds folders and names; what gets
// published is read from the built packages' control files.
type SourcePackage struct {
	Dir      string          // slash path relative to the repository root, "." for the root
	Name     string          // PKG_NAME
	Version  string          // PKG_VERSION, expanded where simple
	Release  string          // PKG_RELEASE
	Packages []BinaryPackage // what its BuildPackage/KernelPackage calls make
}

// BinaryPackage is one package a Makefile builds.
type BinaryPackage struct {
	Name    string
	Depends []string // package names from DEPENDS (conditions and config symbols dropped)
	Kernel  bool     // a kernel module (kmod-*), refused until per-target kmod feeds exist
}

// maxMakefileBytes bounds what a repository can make us read per Makefile.
const maxMakefileBytes = 1 << 20

var (
	assignRe   = regexp.MustCompile(`^(?:override\s+)?([A-Za-z0-9_./-]+)\s*(:=|::=|\?=|\+=|=)\s*(.*)$`)
	defineRe   = regexp.MustCompile(`^define\s+(\S+)`)
	callRe     = regexp.MustCompile(`\$\(eval\s+\$\(call\s+(BuildPackage|KernelPackage)\s*,`)
	includeRe  = regexp.MustCompile(`^-?include\s+(.*)$`)
	varRefRe   = regexp.MustCompile(`\$[({]([A-Za-z0-9_]+)[)}]`)
	notdirRe   = regexp.MustCompile(`\$[({]notdir\s+\$[({]CURDIR[)}][)}]`)
	kmodPrefix = "kmod-"
)

// ReadMakefile reads an OpenWrt package Makefile found in dir (slash path). ok is false when the
// Makefile does not include package.mk, kernel.mk or luci.mk (a plain Makefile, e.g. of src/).
func ReadMakefile(dir string, data []byte) (pkg SourcePackage, ok bool) {
	if len(data) > maxMakefileBytes {
		data = data[:maxMakefileBytes]
	}
	m := mkReader{vars: map[string]string{}, dir: dir}
	m.vars["CURDIR"] = dir
	lines := joinContinuations(data)
	var (
		inDefine string
		defines  = map[string][]string{}
		calls    []struct{ fn, name string }
		kind     string
	)
	for _, raw := range lines {
		line := strings.TrimSpace(raw)
		if inDefine != "" {
			if line == "endef" || strings.HasPrefix(line, "endef ") {
				inDefine = ""
				continue
			}
			defines[inDefine] = append(defines[inDefine], line)
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			if strings.Contains(line, "call BuildPackage - OpenWrt buildroot signature") {
				kind = pick(kind, "luci")
			}
			continue
		}
		if d := defineRe.FindStringSubmatch(line); d != nil {
			inDefine = m.expand(d[1])
			continue
		}
		if inc := includeRe.FindStringSubmatch(line); inc != nil {
			for _, f := range strings.Fields(inc[1]) {
				switch path.Base(f) {
				case "package.mk":
					kind = pick(kind, "package")
				case "kernel.mk":
					kind = pick(kind, "kernel")
				case "luci.mk":
					kind = "luci"
				}
			}
			continue
		}
		if c := callRe.FindStringSubmatchIndex(line); c != nil {
			arg := firstArg(line[c[1]:])
			calls = append(calls, struct{ fn, name string }{line[c[2]:c[3]], m.expand(arg)})
			continue
		}
		if a := assignRe.FindStringSubmatch(line); a != nil {
			m.assign(a[1], a[2], a[3])
		}
	}
	if kind == "" {
		return SourcePackage{}, false
	}
	if kind == "luci" && m.vars["PKG_NAME"] == "" {
		m.vars["PKG_NAME"] = path.Base(dir)
	}
	pkg = SourcePackage{
		Dir:     dir,
		Name:    m.expand(m.vars["PKG_NAME"]),
		Version: m.expand(m.vars["PKG_VERSION"]),
		Release: m.expand(m.vars["PKG_RELEASE"]),
	}
	seen := map[string]bool{}
	add := func(b BinaryPackage) {
		if b.Name == "" || seen[b.Name] {
			return
		}
		seen[b.Name] = true
		pkg.Packages = append(pkg.Packages, b)
	}
	for _, c := range calls {
		switch c.fn {
		case "BuildPackage":
			add(BinaryPackage{Name: c.name, Depends: m.depends(defines["Package/"+c.name]), Kernel: strings.HasPrefix(c.name, kmodPrefix)})
		case "KernelPackage":
			add(BinaryPackage{Name: kmodPrefix + c.name, Depends: m.depends(defines["KernelPackage/"+c.name]), Kernel: true})
		}
	}
	if kind == "luci" && len(pkg.Packages) == 0 {
		add(BinaryPackage{Name: pkg.Name, Depends: parseDepends(m.expand(m.vars["LUCI_DEPENDS"]))})
	}
	return pkg, true
}

// firstArg returns the text up to the first top-level "," or ")", so "$(PKG_NAME),x)" gives
// "$(PKG_NAME)".
func firstArg(s string) string {
	depth := 0
	for i, r := range s {
		switch r {
		case '(', '{':
			depth++
		case ')', '}':
			if depth == 0 {
				return strings.TrimSpace(s[:i])
			}
			depth--
		case ',':
			if depth == 0 {
				return strings.TrimSpace(s[:i])
			}
		}
	}
	return strings.TrimSpace(s)
}

func pick(cur, kind string) string {
	if cur == "" || cur == "package" && kind == "kernel" {
		return kind
	}
	return cur
}

type mkReader struct {
	vars map[string]string
	dir  string
}

func (m *mkReader) assign(name, op, value string) {
	switch op {
	case "?=":
		if _, set := m.vars[name]; !set {
			m.vars[name] = value
		}
	case "+=":
		if cur := m.vars[name]; cur != "" {
			m.vars[name] = cur + " " + value
		} else {
			m.vars[name] = value
		}
	case ":=", "::=":
		m.vars[name] = m.expand(value)
	default:
		m.vars[name] = value
	}
}

// expand replaces $(VAR) and ${VAR} of known variables and $(notdir $(CURDIR)); anything else
// is left as written. Depth and length are bounded so a hostile Makefile cannot blow it up.
func (m *mkReader) expand(s string) string {
	for range 8 {
		if !strings.Contains(s, "$") {
			break
		}
		next := notdirRe.ReplaceAllString(s, path.Base(m.dir))
		next = varRefRe.ReplaceAllStringFunc(next, func(ref string) string {
			name := ref[2 : len(ref)-1]
			if v, ok := m.vars[name]; ok && !strings.Contains(v, "$("+name+")") && !strings.Contains(v, "${"+name+"}") {
				return v
			}
			return ref
		})
		if len(next) > 4096 {
			return s
		}
		if next == s {
			break
		}
		s = next
	}
	return strings.TrimSpace(s)
}

func (m *mkReader) depends(def []string) []string {
	var all []string
	for _, l := range def {
		if a := assignRe.FindStringSubmatch(l); a != nil && a[1] == "DEPENDS" {
			all = append(all, parseDepends(m.expand(a[3]))...)
		}
	}
	return uniqueSorted(all)
}

// parseDepends turns a DEPENDS value into package names: "+libfoo" and "+PACKAGE_x:libbar" name
// packages; "@TARGET_x" and other conditions do not.
func parseDepends(v string) []string {
	var out []string
	for _, f := range strings.Fields(v) {
		if strings.HasPrefix(f, "@") || strings.HasPrefix(f, "$") {
			continue
		}
		f = strings.TrimPrefix(f, "+")
		if i := strings.LastIndexByte(f, ':'); i >= 0 {
			f = f[i+1:]
		}
		if ValidPackageName(f) {
			out = append(out, f)
		}
	}
	return uniqueSorted(out)
}

func uniqueSorted(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	sort.Strings(in)
	out := in[:1]
	for _, s := range in[1:] {
		if s != out[len(out)-1] {
			out = append(out, s)
		}
	}
	return out
}

// joinContinuations splits data into logical lines, joining backslash-continued ones.
func joinContinuations(data []byte) []string {
	var out []string
	var cur strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), maxMakefileBytes)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasSuffix(l, "\\") {
			cur.WriteString(strings.TrimSuffix(l, "\\"))
			cur.WriteByte(' ')
			continue
		}
		cur.WriteString(l)
		out = append(out, cur.String())
		cur.Reset()
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}
