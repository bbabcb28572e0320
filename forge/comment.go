package forge

import (
	"fmt"
	"strings"
)

// Command is a build command found in a pull/merge request comment.
type Command struct {
	Name       string `json:"name"`                  // "rebuild"
	FailedOnly bool   `json:"failed_only,omitempty"` // `/rebuild failed`: only the jobs that failed
}

// CommentResult is what a comment asks of the service: exactly one of a Command, a Reply
// (help, usage) to post back, or nothing (both empty). User mistakes become replies, never
// errors (as Atlantis does).
type CommentResult struct {
	Command *Command
	Reply   string
}

// Nothing reports whether the comment asks nothing of the service.
func (r CommentResult) Nothing() bool { return r.Command == nil && r.Reply == "" }

// CommandPrefix starts every comment command.
const CommandPrefix = "/rebuild"

// CommentHelp is the reply to `/rebuild help`.
const CommentHelp = "openwrt-ppa understands these comments on a pull or merge request:\n\n" +
	"- `/rebuild`: build every job of the head commit again\n" +
	"- `/rebuild failed`: build again only the jobs that failed\n\n" +
	"Only people with write access to the repository can start builds."

// maxCommentScan bounds the work on a giant comment: commands are short and near the top.
const maxCommentScan = 64 << 10

// ParseComment finds a command in a comment body. The command must start a line, in any
// case (`/Rebuild` too), with text allowed on the lines around it (as Packit accepts); the
// first command line wins. Lines inside fenced code blocks or block quotes are skipped, so
// quoting someone's `/rebuild` does not build again.
func ParseComment(body string) CommentResult {
	if len(body) > maxCommentScan {
		body = body[:maxCommentScan]
	}
	body = strings.ReplaceAll(body, "\r\n", "\n")
	inFence := false
	for line := range strings.SplitSeq(body, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "```") || strings.HasPrefix(line, "~~~") {
			inFence = !inFence
			continue
		}
		if inFence || strings.HasPrefix(line, ">") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) == 0 || !strings.EqualFold(fields[0], CommandPrefix) {
			continue
		}
		return parseArgs(fields[1:])
	}
	return CommentResult{}
}

func parseArgs(args []string) CommentResult {
	switch {
	case len(args) == 0:
		return CommentResult{Command: &Command{Name: "rebuild"}}
	case len(args) == 1 && strings.EqualFold(args[0], "failed"):
		return CommentResult{Command: &Command{Name: "rebuild", FailedOnly: true}}
	case len(args) == 1 && (strings.EqualFold(args[0], "help") || args[0] == "-h" || args[0] == "--help"):
		return CommentResult{Reply: CommentHelp}
	}
	return CommentResult{Reply: fmt.Sprintf(
		"`/rebuild` does not understand `%s`.\n\n%s", quoteArg(strings.Join(args, " ")), CommentHelp)}
}

// quoteArg makes user text safe inside a code span in our reply: no backticks (that would end
// the span and let an @mention ping someone), no newlines, bounded length.
func quoteArg(s string) string {
	s = strings.ReplaceAll(s, "`", "'")
	return Truncate(s, 40)
}
