package feeds

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits on a control file. They are far above what any OpenWrt package needs and exist so that a
// hostile package cannot make the index (and every router reading it) carry megabytes of text.
const (
	MaxControlSize = 64 << 10 // bytes of the control file
	maxFields      = 100
	maxFieldName   = 64
	maxNameLen     = 128 // package name
	maxVersionLen  = 128
	maxArchLen     = 64
)

// Field is one field of a control stanza. Value holds the text after "Name:" with leading spaces
// removed; for a multi-line field it holds the continuation lines too, joined by "\n".
type Field struct {
	Name  string
	Value string
}

// Control is a parsed and validated control stanza. Its Text is the normalised control file: every
// line ends in "\n" and there is no blank line, so it can be pasted into an index as one stanza.
type Control struct {
	Package      string
	Version      string
	Architecture string
	fields       []Field
	text         []byte
}

// Fields returns the fields in file order.
func (c *Control) Fields() []Field { return append([]Field(nil), c.fields...) }

// Get returns the value of the named field (case-insensitive), or "" when absent.
func (c *Control) Get(name string) string {
	for _, f := range c.fields {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// Text returns the normalised control text. The caller must not modify it.
func (c *Control) Text() []byte { return c.text }

// ControlError says which field (or line) of a control file is wrong and why.
type ControlError struct {
	Line   int    // 1-based line of the control file; 0 when the problem is not on one line
	Field  string // the field concerned, when known
	Reason string
}

func (e *ControlError) Error() string {
	var b strings.Builder
	b.WriteString("control file")
	if e.Line > 0 {
		fmt.Fprintf(&b, " line %d", e.Line)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, " field %s", e.Field)
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	return b.String()
}

// indexFields are written by the index, never by a package: a package that sets them could point
// routers at another file or checksum.
var indexFields = []string{"Filename", "Size", "SHA256sum", "MD5Sum", "MD5sum", "SHA1sum"}

// ParseControl parses and validates a control file. It refuses anything that could forge another
// stanza or field once pasted into an index: blank lines, NUL and other control characters, CR,
// continuation lines outside Description, duplicate fields, fields the index sets itself, bad
// package names, versions and architectures, and oversized input.
func ParseControl(data []byte) (*Control, error) {
	if len(data) > MaxControlSize {
		return nil, &ControlError{Reason: fmt.Sprintf("%d bytes is over the limit of %d", len(data), MaxControlSize)}
	}
	// Trailing newlines are normalised away: the index adds its own blank line after each stanza.
	data = bytes.TrimRight(data, "\n")
	if len(data) == 0 {
		return nil, &ControlError{Reason: "empty control file"}
	}
	if !utf8.Valid(data) {
		return nil, &ControlError{Line: firstBadUTF8Line(data), Reason: "not valid UTF-8"}
	}
	c := &Control{}
	seen := make(map[string]bool)
	lineNo := 0
	for rest := data; len(rest) > 0 || lineNo == 0; {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte{'\n'})
		lineNo++
		if err := checkLineChars(line, lineNo); err != nil {
			return nil, err
		}
		if len(line) == 0 {
			return nil, &ControlError{Line: lineNo, Reason: "blank line inside the stanza (it would end the stanza early and start a forged one)"}
		}
		if line[0] == ' ' {
			if len(c.fields) == 0 {
				return nil, &ControlError{Line: lineNo, Reason: "continuation line before any field"}
			}
			last := &c.fields[len(c.fields)-1]
			if last.Name != "Description" {
				return nil, &ControlError{Line: lineNo, Field: last.Name, Reason: "continuation lines are allowed only in Description"}
			}
			last.Value += "\n" + string(line)
			continue
		}
		name, value, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			return nil, &ControlError{Line: lineNo, Reason: fmt.Sprintf("%q is not a \"Field: value\" line", truncate(string(line), 40))}
		}
		if err := checkFieldName(string(name), lineNo); err != nil {
			return nil, err
		}
		key := strings.ToLower(string(name))
		if seen[key] {
			return nil, &ControlError{Line: lineNo, Field: string(name), Reason: "field appears twice"}
		}
		seen[key] = true
		for _, f := range indexFields {
			if strings.EqualFold(f, string(name)) {
				return nil, &ControlError{Line: lineNo, Field: string(name), Reason: "this field is written by the index; a package must not set it"}
			}
		}
		if len(c.fields) == maxFields {
			return nil, &ControlError{Line: lineNo, Reason: fmt.Sprintf("more than %d fields", maxFields)}
		}
		c.fields = append(c.fields, Field{Name: string(name), Value: strings.TrimLeft(string(value), " \t")})
	}
	for _, f := range c.fields {
		switch f.Name {
		case "Package":
			c.Package = f.Value
		case "Version":
			c.Version = f.Value
		case "Architecture":
			c.Architecture = f.Value
		}
	}
	if err := validateIdentity(c); err != nil {
		return nil, err
	}
	c.text = make([]byte, 0, len(data)+1)
	c.text = append(append(c.text, data...), '\n')
	return c, nil
}

func checkLineChars(line []byte, lineNo int) error {
	for i, b := range line {
		switch {
		case b == 0:
			return &ControlError{Line: lineNo, Reason: fmt.Sprintf("NUL byte at column %d", i+1)}
		case b == '\r':
			return &ControlError{Line: lineNo, Reason: fmt.Sprintf("carriage return at column %d (write the file with Unix line ends)", i+1)}
		case b == '\t' && i > 0:
			// A tab inside a value is harmless; at the start of a line opkg would misread it.
		case b < 0x20 || b == 0x7f:
			return &ControlError{Line: lineNo, Reason: fmt.Sprintf("control character 0x%02x at column %d", b, i+1)}
		}
	}
	return nil
}

func checkFieldName(name string, lineNo int) error {
	if name == "" || len(name) > maxFieldName {
		return &ControlError{Line: lineNo, Reason: fmt.Sprintf("field name %q must be 1 to %d characters", truncate(name, 40), maxFieldName)}
	}
	for i := 0; i < len(name); i++ {
		ch := name[i]
		ok := ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z' || i > 0 && (ch >= '0' && ch <= '9' || ch == '-')
		if !ok {
			return &ControlError{Line: lineNo, Reason: fmt.Sprintf("field name %q may hold only letters, digits and '-', starting with a letter", truncate(name, 40))}
		}
	}
	return nil
}

func firstBadUTF8Line(data []byte) int {
	line := 1
	for len(data) > 0 {
		r, size := utf8.DecodeRune(data)
		if r == utf8.RuneError && size <= 1 {
			return line
		}
		if r == '\n' {
			line++
		}
		data = data[size:]
	}
	return 0
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
