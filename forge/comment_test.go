package forge_test

import (
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
)

func TestParseComment(t *testing.T) {
	cases := []struct {
		name, body string
		command    bool
		failedOnly bool
		reply      string // a substring the reply must hold; "" for no reply
	}{
		{name: "bare", body: "/rebuild", command: true},
		{name: "surrounding space", body: "  /rebuild \n", command: true},
		{name: "upper case", body: "/REBUILD", command: true},
		{name: "failed", body: "/rebuild failed", command: true, failedOnly: true},
		{name: "failed mixed case", body: "/Rebuild FAILED", command: true, failedOnly: true},
		{name: "among other lines", body: "Thanks!\r\n/rebuild\r\nShould pass now.", command: true},
		{name: "first command wins", body: "/rebuild failed\n/rebuild", command: true, failedOnly: true},
		{name: "help", body: "/rebuild help", reply: "`/rebuild failed`"},
		{name: "dash help", body: "/rebuild --help", reply: "write access"},
		{name: "unknown argument", body: "/rebuild everything", reply: "does not understand `everything`"},
		{name: "mention not echoed as a ping", body: "/rebuild `@admin", reply: "`'@admin`"},
		{name: "quoted", body: "> /rebuild\nno, not yet"},
		{name: "in a code fence", body: "```\n/rebuild\n```"},
		{name: "mid-line", body: "please /rebuild"},
		{name: "longer word", body: "/rebuilding now"},
		{name: "other bot", body: "/build"},
		{name: "empty", body: ""},
		{name: "prose", body: "You are totally right! I'll get this fixed right away."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := forge.ParseComment(c.body)
			if (got.Command != nil) != c.command {
				t.Fatalf("command %+v, want command=%v", got.Command, c.command)
			}
			if c.command && got.Command.FailedOnly != c.failedOnly {
				t.Errorf("failedOnly %v, want %v", got.Command.FailedOnly, c.failedOnly)
			}
			if c.reply == "" && got.Reply != "" {
				t.Errorf("reply %q, want none", got.Reply)
			}
			if c.reply != "" && !strings.Contains(got.Reply, c.reply) {
				t.Errorf("reply %q, want it to hold %q", got.Reply, c.reply)
			}
			if !c.command && c.reply == "" && !got.Nothing() {
				t.Errorf("want nothing, got %+v", got)
			}
		})
	}
}

func FuzzParseComment(f *testing.F) {
	for _, s := range []string{"/rebuild", "/rebuild failed", "/rebuild help", "> /rebuild", "```\n/rebuild", "/rebuild `x` y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := forge.ParseComment(body)
		if r.Command != nil && r.Reply != "" {
			t.Fatalf("both a command and a reply: %+v", r)
		}
		if r.Reply != "" && strings.Count(r.Reply, "`")%2 != 0 {
			t.Fatalf("reply with unbalanced code spans: %q", r.Reply)
		}
	})
}

// Our own replies land as comments too (GitLab sends our notes back as Note Hooks): none of
// them may read as a command, or the service would talk to itself.
func TestRepliesAreNoCommands(t *testing.T) {
	usage := forge.ParseComment("/rebuild now").Reply
	for _, reply := range []string{forge.CommentHelp, usage, forge.RefusalReply("someone")} {
		if r := forge.ParseComment(reply); !r.Nothing() {
			t.Errorf("reply %q parses as %+v", reply, r)
		}
	}
}
