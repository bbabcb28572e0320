package feeds

import (
	"cmp"
	"fmt"
	"strings"
)

// apk's version grammar, `number{.number}...{letter}{_suffix{number}}...{~hash}{-rN}`, as a token
// stream; the rules (which token may follow which, how two versions compare) are those of
// apk-tools' version.c.
type apkToken int

const (
	tokInitialDigit apkToken = iota
	tokDigit
	tokLetter
	tokSuffix
	tokSuffixNo
	tokCommitHash
	tokRevisionNo
	tokEnd
	tokInvalid
)

// Suffix ranks: the pre-release ones sort before the bare version.
const (
	sufInvalid = iota
	sufAlpha
	sufBeta
	sufPre
	sufRC
	sufNone
	sufCVS
	sufSVN
	sufGit
	sufHg
	sufP
)

var apkSuffixes = map[string]int{"alpha": sufAlpha, "beta": sufBeta, "pre": sufPre, "rc": sufRC,
	"cvs": sufCVS, "svn": sufSVN, "git": sufGit, "hg": sufHg, "p": sufP}

type apkTokenState struct {
	tok    apkToken
	suffix int
	number uint64
	value  string
	rest   string
}

func (t *apkTokenState) digits() {
	i := 0
	var n uint64
	for i < len(t.rest) && t.rest[i] >= '0' && t.rest[i] <= '9' {
		n = n*10 + uint64(t.rest[i]-'0')
		i++
	}
	t.number, t.value, t.rest = n, t.rest[:i], t.rest[i:]
	if i == 0 {
		t.tok = tokInvalid
	}
}

func (t *apkTokenState) first(v string) {
	t.rest = v
	t.tok = tokInitialDigit
	t.digits()
}

func (t *apkTokenState) next() {
	if t.rest == "" {
		t.tok = tokEnd
		return
	}
	c := t.rest[0]
	switch {
	case c >= 'a' && c <= 'z':
		if t.tok > tokDigit {
			t.tok = tokInvalid
			return
		}
		t.value, t.rest, t.tok = t.rest[:1], t.rest[1:], tokLetter
	case c == '.' || c >= '0' && c <= '9':
		if c == '.' {
			if t.tok > tokDigit {
				t.tok = tokInvalid
				return
			}
			t.rest = t.rest[1:]
		}
		switch t.tok {
		case tokInitialDigit, tokDigit:
			t.tok = tokDigit
		case tokSuffix:
			t.tok = tokSuffixNo
		default:
			t.tok = tokInvalid
			return
		}
		t.digits()
	case c == '_':
		if t.tok > tokSuffixNo {
			t.tok = tokInvalid
			return
		}
		t.rest = t.rest[1:]
		i := 0
		for i < len(t.rest) && t.rest[i] >= 'a' && t.rest[i] <= 'z' {
			i++
		}
		t.value, t.rest = t.rest[:i], t.rest[i:]
		t.suffix = apkSuffixes[t.value]
		if t.suffix == sufInvalid {
			t.tok = tokInvalid
			return
		}
		t.tok = tokSuffix
	case c == '~':
		if t.tok >= tokCommitHash {
			t.tok = tokInvalid
			return
		}
		t.rest = t.rest[1:]
		i := 0
		for i < len(t.rest) && (t.rest[i] >= '0' && t.rest[i] <= '9' || t.rest[i] >= 'a' && t.rest[i] <= 'f') {
			i++
		}
		t.value, t.rest = t.rest[:i], t.rest[i:]
		if i == 0 {
			t.tok = tokInvalid
			return
		}
		t.tok = tokCommitHash
	case c == '-':
		if t.tok >= tokRevisionNo || !strings.HasPrefix(t.rest, "-r") {
			t.tok = tokInvalid
			return
		}
		t.rest = t.rest[2:]
		t.tok = tokRevisionNo
		t.digits()
	default:
		t.tok = tokInvalid
	}
}

// ValidAPKVersion reports whether v is a version apk accepts (`apk version -c`), such as
// "2.5.1-r1", "1.0_rc1", "2024.01.02~1a2b3c-r3".
func ValidAPKVersion(v string) error {
	if v == "" {
		return fmt.Errorf("missing version")
	}
	if len(v) > maxVersionLen {
		return fmt.Errorf("version is %d characters long, over the limit of %d", len(v), maxVersionLen)
	}
	var t apkTokenState
	for t.first(v); t.tok < tokEnd; t.next() {
	}
	if t.tok != tokEnd {
		return fmt.Errorf("version %q is not an apk version (digits and dots, then an optional letter, _alpha/_beta/_pre/_rc/_p… suffixes, ~commit and -rN, e.g. 1.2.3-r1)", truncate(v, 40))
	}
	return nil
}

// CompareAPKVersions orders two versions as apk does; it returns -1, 0 or +1. Invalid versions
// compare as apk compares them (as far as their valid start goes).
func CompareAPKVersions(a, b string) int {
	var ta, tb apkTokenState
	ta.first(a)
	tb.first(b)
	for ta.tok == tb.tok && ta.tok < tokEnd {
		if r := apkTokenCmp(&ta, &tb); r != 0 {
			return r
		}
		ta.next()
		tb.next()
	}
	switch {
	case ta.tok == tb.tok:
		return 0
	case ta.tok == tokSuffix && ta.suffix < sufNone:
		return -1
	case tb.tok == tokSuffix && tb.suffix < sufNone:
		return 1
	case ta.tok > tb.tok:
		return -1
	case tb.tok > ta.tok:
		return 1
	}
	return 0
}

func apkTokenCmp(a, b *apkTokenState) int {
	var x, y uint64
	switch a.tok {
	case tokDigit:
		if a.value[0] == '0' || b.value[0] == '0' {
			// A leading zero on either side compares as text, as in Gentoo's rules.
			return strings.Compare(a.value, b.value)
		}
		x, y = a.number, b.number
	case tokInitialDigit, tokSuffixNo, tokRevisionNo:
		x, y = a.number, b.number
	case tokLetter:
		x, y = uint64(a.value[0]), uint64(b.value[0])
	case tokSuffix:
		x, y = uint64(a.suffix), uint64(b.suffix)
	default:
		return strings.Compare(a.value, b.value)
	}
	return cmp.Compare(x, y)
}
