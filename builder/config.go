package builder

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// ConfigFile is the name of the optional repository configuration at the repository root.
const ConfigFile = ".openwrt-ppa.yml"

// maxConfigBytes bounds the configuration a repository can make us parse.
const maxConfigBytes = 64 << 10

// Config is a repository's .openwrt-ppa.yml after validation and defaults (DESIGN.md).
type Config struct {
	// Series are release series such as "24.10" or "snapshot", exactly as written.
	Series []string
	// Archs are package architectures such as "x86_64"; Targets add theirs when the plan is made.
	Archs []string
	// Targets are "target/subtarget" pairs such as "ramips/mt7621".
	Targets []string
	// Packages limits the build to these package names; empty means every package found.
	Packages []string
	// Feeds are extra git feeds the packages need.
	Feeds []ExtraFeed
	// Branches are path.Match globs of branches whose pushes build; empty means the default branch.
	Branches []string
}

// ExtraFeed is an extra git feed a repository's packages need (feeds.conf "src-git").
type ExtraFeed struct {
	Name string `json:"name"`
	URL  string `json:"url"`
	Ref  string `json:"ref,omitempty"`
}

// DefaultSeries is the release series a repository without a series list builds.
const DefaultSeries = "25.12"

// DefaultConfig returns the configuration of a repository without .openwrt-ppa.yml: the
// matrix of DESIGN.md, on the current stable series (25.12, apk feeds); a repository that
// wants 24.10 (opkg) lists it in series.
func DefaultConfig() Config {
	return Config{
		Series: []string{DefaultSeries},
		Archs:  []string{"x86_64", "aarch64_cortex-a53", "mipsel_24kc", "mips_24kc", "arm_cortex-a7_neon-vfpv4"},
	}
}

// ConfigError is a mistake in a repository's configuration; the check run shows it as is.
type ConfigError struct {
	File string
	Line int // 0 when the mistake has no single line
	Msg  string
}

func (e *ConfigError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

var (
	seriesRe  = regexp.MustCompile(`^([0-9]{2}\.[0-9]{2}|snapshot)$`)
	archRe    = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	targetRe  = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}/[a-z0-9][a-z0-9_-]{0,31}$`)
	pkgNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9+._-]{0,99}$`)
	feedRe    = regexp.MustCompile(`^[a-z0-9][a-z0-9_]{0,31}$`)
	gitRefRe  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$`)
)

// ValidPackageName reports whether name is an opkg package name we accept from outside.
func ValidPackageName(name string) bool {
	return pkgNameRe.MatchString(name) && !strings.Contains(name, "..")
}

// ParseConfig parses a repository's configuration strictly: unknown fields, wrong types and bad
// values are *ConfigError with file and line. Empty data (no file) gives DefaultConfig. Fields
// not given take their defaults. file is only used in messages.
func ParseConfig(file string, data []byte) (Config, error) {
	cfg := DefaultConfig()
	if len(data) > maxConfigBytes {
		return cfg, &ConfigError{File: file, Msg: fmt.Sprintf("file is larger than %d bytes; keep it small", maxConfigBytes)}
	}
	if strings.TrimSpace(string(data)) == "" {
		return cfg, nil
	}
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return cfg, &ConfigError{File: file, Line: yamlErrorLine(err), Msg: "not valid YAML: " + firstLine(err.Error())}
	}
	p := configParser{file: file}
	var body ast.Node
	for _, doc := range f.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		if _, ok := doc.Body.(*ast.CommentGroupNode); ok {
			continue
		}
		if body != nil {
			return cfg, p.errAt(doc.Body, "more than one YAML document; keep one")
		}
		body = doc.Body
	}
	if body == nil {
		return cfg, nil
	}
	if err := p.top(body, &cfg); err != nil {
		return DefaultConfig(), err
	}
	return cfg, nil
}

type configParser struct{ file string }

func (p configParser) errAt(n ast.Node, format string, args ...any) error {
	line := 0
	if n != nil && n.GetToken() != nil {
		line = n.GetToken().Position.Line
	}
	return &ConfigError{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

func (p configParser) top(n ast.Node, cfg *Config) error {
	pairs, err := p.mapping(n, "the top level")
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, kv := range pairs {
		key, err := p.key(kv)
		if err != nil {
			return err
		}
		if seen[key] {
			return p.errAt(kv.Key, "field %q given twice", key)
		}
		seen[key] = true
		switch key {
		case "series":
			cfg.Series, err = p.list(kv.Value, key, func(v string) string {
				if !seriesRe.MatchString(v) {
					return fmt.Sprintf("series %q is not a release series such as \"24.10\" or \"snapshot\"", v)
				}
				return ""
			})
		case "archs":
			cfg.Archs, err = p.list(kv.Value, key, func(v string) string {
				if !archRe.MatchString(v) {
					return fmt.Sprintf("arch %q is not a package architecture such as \"x86_64\" or \"mipsel_24kc\"", v)
				}
				return ""
			})
		case "targets":
			cfg.Targets, err = p.list(kv.Value, key, func(v string) string {
				if !targetRe.MatchString(v) {
					return fmt.Sprintf("target %q is not \"target/subtarget\" such as \"ramips/mt7621\"", v)
				}
				return ""
			})
		case "packages":
			cfg.Packages, err = p.list(kv.Value, key, func(v string) string {
				if !ValidPackageName(v) {
					return fmt.Sprintf("package %q is not a package name (lower case letters, digits, and + . _ -)", v)
				}
				return ""
			})
		case "branches":
			cfg.Branches, err = p.list(kv.Value, key, func(v string) string {
				if _, err := path.Match(v, ""); err != nil || v == "" {
					return fmt.Sprintf("branch pattern %q is not a valid glob (path.Match syntax, e.g. \"release/*\")", v)
				}
				return ""
			})
		case "feeds":
			cfg.Feeds, err = p.feeds(kv.Value)
		default:
			return p.errAt(kv.Key, "unknown field %q; the fields are series, archs, targets, packages, feeds, branches", key)
		}
		if err != nil {
			return err
		}
	}
	if seen["archs"] && len(cfg.Archs) == 0 && !seen["targets"] {
		return &ConfigError{File: p.file, Msg: "archs is empty and no targets are given; list at least one arch or target"}
	}
	if seen["targets"] && !seen["archs"] {
		// Targets alone mean "just these": the default archs would build far more than asked.
		cfg.Archs = nil
	}
	if len(cfg.Series) == 0 {
		return &ConfigError{File: p.file, Msg: "series is empty; list at least one release series such as \"24.10\""}
	}
	return nil
}

func (p configParser) mapping(n ast.Node, what string) ([]*ast.MappingValueNode, error) {
	switch m := n.(type) {
	case *ast.MappingNode:
		return m.Values, nil
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{m}, nil
	case *ast.AnchorNode, *ast.AliasNode, *ast.TagNode:
		return nil, p.errAt(n, "anchors, aliases and tags are not supported; write values out")
	}
	return nil, p.errAt(n, "%s must be a mapping of field: value", what)
}

func (p configParser) key(kv *ast.MappingValueNode) (string, error) {
	if kv.Key == nil {
		return "", p.errAt(kv, "a field without a name")
	}
	k, ok := kv.Key.(*ast.StringNode)
	if !ok {
		return "", p.errAt(kv.Key, "field names must be plain words, not %s", kv.Key.Type())
	}
	return k.Value, nil
}

// scalar returns the literal text of a scalar node: an unquoted 24.10 stays "24.10", never 24.1.
func (p configParser) scalar(n ast.Node, field string) (string, error) {
	switch v := n.(type) {
	case *ast.StringNode:
		return v.Value, nil
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
		return v.GetToken().Value, nil
	case *ast.AnchorNode, *ast.AliasNode, *ast.TagNode:
		return "", p.errAt(n, "anchors, aliases and tags are not supported; write values out")
	case nil, *ast.NullNode:
		return "", p.errAt(n, "%s: a value is missing", field)
	}
	return "", p.errAt(n, "%s: expected a single value, found %s", field, n.Type())
}

// list reads a sequence of scalars; a single scalar is accepted as a one-element list.
func (p configParser) list(n ast.Node, field string, check func(string) string) ([]string, error) {
	var items []ast.Node
	switch v := n.(type) {
	case *ast.SequenceNode:
		items = v.Values
	case nil, *ast.NullNode:
		return nil, p.errAt(n, "%s: a list is missing; write %s: [] for none", field, field)
	default:
		items = []ast.Node{n}
	}
	out := make([]string, 0, len(items))
	seen := map[string]bool{}
	for _, it := range items {
		s, err := p.scalar(it, field)
		if err != nil {
			return nil, err
		}
		if msg := check(s); msg != "" {
			return nil, p.errAt(it, "%s", msg)
		}
		if seen[s] {
			continue
		}
		seen[s] = true
		out = append(out, s)
	}
	return out, nil
}

func (p configParser) feeds(n ast.Node) ([]ExtraFeed, error) {
	seq, ok := n.(*ast.SequenceNode)
	if !ok {
		return nil, p.errAt(n, "feeds must be a list of {name, url, ref}")
	}
	var out []ExtraFeed
	names := map[string]bool{}
	for _, it := range seq.Values {
		pairs, err := p.mapping(it, "a feed")
		if err != nil {
			return nil, err
		}
		var f ExtraFeed
		for _, kv := range pairs {
			key, err := p.key(kv)
			if err != nil {
				return nil, err
			}
			val, err := p.scalar(kv.Value, "feeds."+key)
			if err != nil {
				return nil, err
			}
			switch key {
			case "name":
				if !feedRe.MatchString(val) {
					return nil, p.errAt(kv.Value, "feed name %q must be lower case letters, digits and _", val)
				}
				f.Name = val
			case "url":
				if !validFeedURL(val) {
					return nil, p.errAt(kv.Value, "feed url %q must be an https:// or git:// URL without spaces", val)
				}
				f.URL = val
			case "ref":
				if !gitRefRe.MatchString(val) || strings.Contains(val, "..") {
					return nil, p.errAt(kv.Value, "feed ref %q is not a branch, tag or commit name", val)
				}
				f.Ref = val
			default:
				return nil, p.errAt(kv.Key, "unknown feed field %q; a feed has name, url and ref", key)
			}
		}
		if f.Name == "" || f.URL == "" {
			return nil, p.errAt(it, "a feed needs both name and url")
		}
		if names[f.Name] {
			return nil, p.errAt(it, "feed %q listed twice", f.Name)
		}
		names[f.Name] = true
		out = append(out, f)
	}
	return out, nil
}

// validFeedURL accepts only URLs that cannot smuggle a second feeds.conf line or an option.
func validFeedURL(u string) bool {
	if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "git://") && !strings.HasPrefix(u, "http://") {
		return false
	}
	return !strings.ContainsAny(u, " \t\r\n^;'\"`$\\") && len(u) < 512
}

func yamlErrorLine(err error) int {
	// goccy's messages start with "[line:column]".
	s := err.Error()
	var line, col int
	if _, scanErr := fmt.Sscanf(s, "[%d:%d]", &line, &col); scanErr == nil {
		return line
	}
	return 0
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
