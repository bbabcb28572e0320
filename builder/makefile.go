package builder

import (
	"bufio"
	"bytes"
	"fmt"
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

// Bounds on what one Makefile can make us do. A hostile Makefile can nest and repeat variable
// references so their expansion grows without end; the work is bounded while expanding, not
// measured after.
const (
	maxMakefileBytes = 1 << 20 // the file itself
	maxExpandBytes   = 4096    // one expanded value; a longer one is left as written
	maxExpandRounds  = 8       // nesting levels expanded
	// maxExpandWork bounds the bytes read and written by all expansions and assignments of one
	// Makefile: real package Makefiles need a few KiB, about the file's own size at worst.
	maxExpandWork = 2 << 20
)

var (
	assignRe   = regexp.MustCompile(`^(?:override\s+)?([A-Za-z0-9_./-]+)\s*(:=|::=|\?=|\+=|=)\s*(.*)$`)
	defineRe   = regexp.MustCompile(`^define\s+(\S+)`)
	callRe     = regexp.MustCompile(`\$\(eval\s+\$\(call\s+(BuildPackage|KernelPackage)\s*,`)
	includeRe  = regexp.MustCompile(`^-?include\s+(.*)$`)
	notdirRe   = regexp.MustCompile(`^\$[({]notdir\s+\$[({]CURDIR[)}][)}]`)
	kmodPrefix = "kmod-"
)

// ReadMakefile reads an OpenWrt package Makefile found in dir (slash path). ok is false when the
// Makefile does not include package.mk, kernel.mk or luci.mk (a plain Makefile, e.g. of src/).
// A Makefile over the size or work bounds is an error naming it and the bound, for the check.
func ReadMakefile(dir string, data []byte) (pkg SourcePackage, ok bool, err error) {
	pkg, ok, _, err = readMakefile(dir, data)
	return pkg, ok, err
}

// readMakefile is ReadMakefile that also says how much work it took.
func readMakefile(dir string, data []byte) (pkg SourcePackage, ok bool, work int64, err error) {
	file := path.Join(dir, "Makefile")
	if len(data) > maxMakefileBytes {
		return SourcePackage{}, false, 0, fmt.Errorf("%s is larger than %d KiB; a package Makefile is far smaller", file, maxMakefileBytes>>10)
	}
	m := mkReader{vars: map[string]string{}, selfRef: map[string]bool{}, dir: dir}
	m.set("CURDIR", dir)
	lines := joinContinuations(data)
	var (
		inDefine string
		defines  = map[string][]string{}
		calls    []struct{ fn, name string }
		kind     string
	)
	for _, raw := range lines {
		if m.over {
			break
		}
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
	if m.over {
		return SourcePackage{}, false, m.work, m.overError(file)
	}
	if kind == "" {
		return SourcePackage{}, false, m.work, nil
	}
	if kind == "luci" && m.vars["PKG_NAME"] == "" {
		m.set("PKG_NAME", path.Base(dir))
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
	if m.over { // the expansions just above
		return SourcePackage{}, false, m.work, m.overError(file)
	}
	return pkg, true, m.work, nil
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
	vars    map[string]string
	selfRef map[string]bool // the value refers to the variable itself: never expanded
	dir     string
	work    int64 // bytes read and written so far, against maxExpandWork
	over    bool  // maxExpandWork was reached: nothing more is expanded
}

// charge counts n bytes of work and reports whether the budget still holds.
func (m *mkReader) charge(n int) bool {
	m.work += int64(n)
	if m.work > maxExpandWork {
		m.over = true
	}
	return !m.over
}

func (m *mkReader) overError(file string) error {
	return fmt.Errorf("%s: expanding its variables takes more than %d MiB of work (the limit per Makefile); expand long values fewer times", file, maxExpandWork>>20)
}

func (m *mkReader) set(name, value string) {
	m.vars[name] = value
	m.selfRef[name] = strings.Contains(value, "$("+name+")") || strings.Contains(value, "${"+name+"}")
}

func (m *mkReader) assign(name, op, value string) {
	if !m.charge(len(value)) {
		return
	}
	switch op {
	case "?=":
		if _, set := m.vars[name]; !set {
			m.set(name, value)
		}
	case "+=":
		if cur := m.vars[name]; cur != "" {
			if m.charge(len(cur)) {
				m.set(name, cur+" "+value)
			}
		} else {
			m.set(name, value)
		}
	case ":=", "::=":
		m.set(name, m.expand(value))
	default:
		m.set(name, value)
	}
}

// expand replaces $(VAR) and ${VAR} of known variables and $(notdir $(CURDIR)); anything else
// is left as written, and so is a value whose expansion would pass maxExpandBytes.
func (m *mkReader) expand(s string) string {
	for range maxExpandRounds {
		if !strings.Contains(s, "$") {
			break
		}
		next, ok := m.expandOnce(s)
		if !ok {
			return s
		}
		if next == s {
			break
		}
		s = next
	}
	return strings.TrimSpace(s)
}

// expandOnce replaces the references of s once. ok is false when the result would pass
// maxExpandBytes or the Makefile's work budget is spent; it stops writing there.
func (m *mkReader) expandOnce(s string) (string, bool) {
	if !m.charge(len(s)) {
		return "", false
	}
	var b strings.Builder
	write := func(piece string) bool {
		// What is asked counts, written or not: a Makefile that asks for a long value often
		// spends its budget without this reader spending the memory.
		if !m.charge(len(piece)) || b.Len()+len(piece) > maxExpandBytes {
			return false
		}
		b.WriteString(piece)
		return true
	}
	for {
		i := strings.IndexByte(s, '$')
		if i < 0 {
			return b.String(), write(s)
		}
		if !write(s[:i]) {
			return "", false
		}
		s = s[i:]
		if loc := notdirRe.FindStringIndex(s); loc != nil && loc[0] == 0 {
			if !write(path.Base(m.dir)) {
				return "", false
			}
			s = s[loc[1]:]
			continue
		}
		ref, name := varRef(s)
		if ref == 0 {
			if !write("$") {
				return "", false
			}
			s = s[1:]
			continue
		}
		v, known := m.vars[name]
		if !known || m.selfRef[name] {
			v = s[:ref]
		}
		if !write(v) {
			return "", false
		}
		s = s[ref:]
	}
}

// varRef reads a $(NAME) or ${NAME} at the start of s: its length (0 if there is none) and name.
func varRef(s string) (int, string) {
	if len(s) < 4 || s[0] != '$' || s[1] != '(' && s[1] != '{' {
		return 0, ""
	}
	for i := 2; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_':
		case (c == ')' || c == '}') && i > 2:
			return i + 1, s[2:i]
		default:
			return 0, ""
		}
	}
	return 0, ""
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
