package feeds

import (
	"fmt"
	"strings"
)

// validateIdentity checks the three fields every index entry needs.
func validateIdentity(c *Control) error {
	if err := ValidPackageName(c.Package); err != nil {
		return &ControlError{Field: "Package", Reason: err.Error()}
	}
	if err := ValidVersion(c.Version); err != nil {
		return &ControlError{Field: "Version", Reason: err.Error()}
	}
	if err := ValidArch(c.Architecture); err != nil {
		return &ControlError{Field: "Architecture", Reason: err.Error()}
	}
	return nil
}

// ValidPackageName reports whether name is a legal opkg package name: letters, digits, '+', '-'
// and '.', starting with a letter or digit. '_' is refused because it separates name, version and
// architecture in a package's file name.
func ValidPackageName(name string) error {
	if name == "" {
		return fmt.Errorf("missing package name")
	}
	if len(name) > maxNameLen {
		return fmt.Errorf("package name is %d characters long, over the limit of %d", len(name), maxNameLen)
	}
	if !isAlnum(name[0]) {
		return fmt.Errorf("package name %q must start with a letter or digit", truncate(name, 40))
	}
	if i := strings.IndexFunc(name, func(r rune) bool { return r > 0x7f || !(isAlnum(byte(r)) || strings.ContainsRune("+-.", r)) }); i >= 0 {
		return fmt.Errorf("package name %q holds %q; use only letters, digits, '+', '-' and '.'", truncate(name, 40), name[i:i+1])
	}
	return nil
}

// ValidVersion reports whether v is a legal opkg version: an optional numeric epoch and ':', then
// letters, digits and ".+~-_", starting with a letter or digit.
func ValidVersion(v string) error {
	if v == "" {
		return fmt.Errorf("missing version")
	}
	if len(v) > maxVersionLen {
		return fmt.Errorf("version is %d characters long, over the limit of %d", len(v), maxVersionLen)
	}
	rest := v
	if epoch, after, ok := strings.Cut(v, ":"); ok {
		if epoch == "" || strings.Trim(epoch, "0123456789") != "" {
			return fmt.Errorf("version %q: the epoch before ':' must be a number", truncate(v, 40))
		}
		rest = after
	}
	if rest == "" || !isAlnum(rest[0]) {
		return fmt.Errorf("version %q must start with a letter or digit", truncate(v, 40))
	}
	if i := strings.IndexFunc(rest, func(r rune) bool { return r > 0x7f || !(isAlnum(byte(r)) || strings.ContainsRune(".+~-_", r)) }); i >= 0 {
		return fmt.Errorf("version %q holds %q; use only letters, digits and \".+~-_\"", truncate(v, 40), rest[i:i+1])
	}
	return nil
}

// ValidArch reports whether a is a legal package architecture (mips_24kc, aarch64_cortex-a53, all).
func ValidArch(a string) error {
	if a == "" {
		return fmt.Errorf("missing architecture")
	}
	if len(a) > maxArchLen {
		return fmt.Errorf("architecture is %d characters long, over the limit of %d", len(a), maxArchLen)
	}
	if !isAlnum(a[0]) {
		return fmt.Errorf("architecture %q must start with a letter or digit", truncate(a, 40))
	}
	if i := strings.IndexFunc(a, func(r rune) bool { return r > 0x7f || !(isAlnum(byte(r)) || r == '_' || r == '-') }); i >= 0 {
		return fmt.Errorf("architecture %q holds %q; use only letters, digits, '_' and '-'", truncate(a, 40), a[i:i+1])
	}
	return nil
}

func isAlnum(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}
