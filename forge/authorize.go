package forge

import (
	"context"
	"fmt"
)

// RefusalReply is the polite answer to a command from someone without write access.
func RefusalReply(user string) string {
	return fmt.Sprintf("Sorry @%s, only people with write access to this repository can start builds "+
		"(forks run untrusted code, so a maintainer has to ask). A maintainer can comment `/rebuild`.", user)
}

// AuthorizeComment handles the forge side of a comment event before anything is built:
//
//   - KindCommentReply: posts ev.Reply (help, usage) and returns false;
//   - KindRebuild, KindRebuildFailed: asks the forge whether ev.Actor may trigger builds; if so
//     it reacts with 👀 and returns true, if not it reacts 😕, replies RefusalReply and
//     returns false.
//
// Other kinds return true untouched. An error means the forge could not be asked or answered:
// do not build (a later redelivery may succeed).
func AuthorizeComment(ctx context.Context, f Forge, ev *Event) (bool, error) {
	if ev.Comment == nil {
		return ev.Kind != KindCommentReply, nil
	}
	switch ev.Kind {
	case KindCommentReply:
		if err := f.Reply(ctx, ev.Repo, ev.Comment.PullNumber, ev.Reply); err != nil {
			return false, fmt.Errorf("answering %s's comment: %w", ev.Actor.Login, err)
		}
		return false, nil
	case KindRebuild, KindRebuildFailed:
	default:
		return true, nil
	}
	ok, err := f.CanTrigger(ctx, ev.Repo, ev.Actor)
	if err != nil {
		return false, fmt.Errorf("checking whether %s may start builds: %w", ev.Actor.Login, err)
	}
	if ok {
		if err := f.React(ctx, ev.Repo, *ev.Comment, ReactionEyes); err != nil {
			return false, fmt.Errorf("acknowledging %s's command: %w", ev.Actor.Login, err)
		}
		return true, nil
	}
	if err := f.React(ctx, ev.Repo, *ev.Comment, ReactionConfused); err != nil {
		return false, fmt.Errorf("refusing %s's command: %w", ev.Actor.Login, err)
	}
	if err := f.Reply(ctx, ev.Repo, ev.Comment.PullNumber, RefusalReply(ev.Actor.Login)); err != nil {
		return false, fmt.Errorf("refusing %s's command: %w", ev.Actor.Login, err)
	}
	return false, nil
}
