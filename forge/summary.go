package forge

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxSummary is GitHub's limit on a check run's summary and text. The documentation says
// characters, but GitHub counts bytes ("summary exceeds a maximum bytesize of 65535",
// github/docs#35252), so every limit here is applied in bytes, which satisfies both.
const MaxSummary = 65535

// PackageRow is one line of a check summary's package table.
type PackageRow struct {
	Name    string
	Version string
	Size    int64  // bytes of the built package; 0 when it was not built
	Note    string // "failed", "not available for mips_24kc", "kept 1.2-1 from the last good build"…
}

// SummaryInput is what Summary renders.
type SummaryInput struct {
	Intro    string // a sentence or two above the table
	Packages []PackageRow
	LogURL   string
	FeedURL  string
	FeedLine string // what a router adds (the customfeeds.conf line, or an apk router's lines), if any
}

// Summary renders a check summary: intro, a Markdown table of packages, links to the log and
// feed; it is cut to MaxSummary bytes, keeping the links, with a note saying how many rows
// were left out.
func Summary(in SummaryInput) string {
	var head, tail strings.Builder
	if in.Intro != "" {
		head.WriteString(in.Intro)
		head.WriteString("\n\n")
	}
	if in.LogURL != "" {
		fmt.Fprintf(&tail, "\n[Build log](%s)", in.LogURL)
	}
	if in.FeedURL != "" {
		fmt.Fprintf(&tail, "\n[Feed](%s)", in.FeedURL)
	}
	if in.FeedLine != "" {
		fmt.Fprintf(&tail, "\n\n```\n%s\n```", in.FeedLine)
	}
	tail.WriteString("\n")

	rows := make([]string, 0, len(in.Packages))
	for _, p := range in.Packages {
		size := ""
		if p.Size > 0 {
			size = HumanSize(p.Size)
		}
		rows = append(rows, fmt.Sprintf("| %s | %s | %s | %s |\n",
			cell(p.Name), cell(p.Version), size, cell(p.Note)))
	}
	const tableHead = "| Package | Version | Size | Note |\n|---|---|---:|---|\n"
	budget := MaxSummary - runes(head.String()) - runes(tail.String())
	var table strings.Builder
	if len(rows) > 0 {
		table.WriteString(tableHead)
		budget -= runes(tableHead)
		for i, r := range rows {
			// Leave room for the note on what was cut.
			const reserve = 80
			if runes(r) > budget-reserve {
				fmt.Fprintf(&table, "\n…and %d more packages (see the build log).\n", len(rows)-i)
				break
			}
			table.WriteString(r)
			budget -= runes(r)
		}
	}
	return Truncate(head.String()+table.String()+tail.String(), MaxSummary)
}

// Truncate cuts s to at most n bytes, on a character boundary, ending with "…" when cut.
// A limit in characters is met too.
func Truncate(s string, n int) string {
	const ellipsis = "…"
	if len(s) <= n {
		return s
	}
	if n < len(ellipsis) {
		return ""
	}
	cut := n - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}

// HumanSize formats bytes as 1.5 KiB, 12.0 MiB.
func HumanSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// cell keeps a value from breaking the Markdown table.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.Join(strings.Fields(s), " ")
}

func runes(s string) int { return len(s) }
