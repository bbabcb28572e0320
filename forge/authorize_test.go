package forge_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/forge/forgetest"
)

func TestAuthorizeComment(t *testing.T) {
	comment := &forge.CommentRef{ID: 77, PullNumber: 4}
	cases := []struct {
		name  string
		ev    forge.Event
		err   error
		ok    bool
		calls []string
		reply string
	}{
		{name: "writer", ev: forge.Event{Kind: forge.KindRebuild, Actor: forge.User{Login: "maintainer"}, Comment: comment},
			ok: true, calls: []string{"CanTrigger maintainer", "React 77 eyes"}},
		{name: "writer, failed only", ev: forge.Event{Kind: forge.KindRebuildFailed, Actor: forge.User{Login: "maintainer"}, Comment: comment},
			ok: true, calls: []string{"CanTrigger maintainer", "React 77 eyes"}},
		{name: "stranger", ev: forge.Event{Kind: forge.KindRebuild, Actor: forge.User{Login: "stranger"}, Comment: comment},
			calls: []string{"CanTrigger stranger", "React 77 confused", "Reply #4"}, reply: "Sorry @stranger"},
		{name: "help", ev: forge.Event{Kind: forge.KindCommentReply, Reply: forge.CommentHelp, Actor: forge.User{Login: "stranger"}, Comment: comment},
			calls: []string{"Reply #4"}, reply: "`/rebuild failed`"},
		{name: "push", ev: forge.Event{Kind: forge.KindPush}, ok: true},
		{name: "forge down", ev: forge.Event{Kind: forge.KindRebuild, Actor: forge.User{Login: "maintainer"}, Comment: comment},
			err: errors.New("502"), calls: []string{"CanTrigger maintainer"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := forgetest.NewForge(forge.GitHub)
			f.Writers["maintainer"] = true
			f.Err = c.err
			ok, err := forge.AuthorizeComment(context.Background(), f, &c.ev)
			if ok != c.ok || (err != nil) != (c.err != nil) {
				t.Fatalf("AuthorizeComment = %v, %v; want %v, error %v", ok, err, c.ok, c.err)
			}
			if d := forgetest.DiffSequence(f.Calls(), c.calls); d != "" {
				t.Error(d)
			}
			if c.reply != "" && (len(f.Replies) != 1 || !strings.Contains(f.Replies[0], c.reply)) {
				t.Errorf("replies %q, want one holding %q", f.Replies, c.reply)
			}
		})
	}
}
