package events

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// fixedQuota refuses every build with why ("" allows them).
type fixedQuota struct{ why string }

func (q fixedQuota) BuildRefusal(context.Context, store.Repository) (string, error) {
	return q.why, nil
}

// TestBuildsByHandObeyTheQuota: with the build minutes used up, none of the ways to build by
// hand starts a build, and each tells its asker the quota's reason where they look: the API's
// and a Build resource's error (a store.ErrInvalid, answered 409), a reply to the `/rebuild`
// comment, a failed check for a re-run. With minutes left each of them builds.
func TestBuildsByHandObeyTheQuota(t *testing.T) {
	const why = "the build minutes of this month are used up: 35 of the 30 minutes; builds start again from 2027-01-01 (UTC), or ask the operator to raise the limit"
	main := store.Ref{Kind: store.RefBranch, Name: "main"}
	ways := []struct {
		name string
		// build builds by hand and returns the error its asker gets (nil for events).
		build func(t *testing.T, h *harness, repo store.Repository) error
		// told is where the asker reads the reason (nil: the error).
		told func(h *harness) string
	}{
		{"API rebuild", func(t *testing.T, h *harness, repo store.Repository) error {
			_, err := h.svc.Rebuild(context.Background(), repo.ID, main, "alice")
			return err
		}, nil},
		{"Build resource", func(t *testing.T, h *harness, repo store.Repository) error {
			_, err := h.svc.StartBuild(context.Background(), BuildRequest{RepoID: repo.ID, Ref: main, SHA: sha2, Actor: "alice", DeliveryID: "build-1"})
			return err
		}, nil},
		{"/rebuild comment", func(t *testing.T, h *harness, repo store.Repository) error {
			h.forge.Writers["maintainer"] = true
			h.forge.Pulls[7] = forge.Pull{Number: 7, HeadSHA: sha2}
			h.deliver(t, &forge.Event{Forge: forge.GitHub, DeliveryID: "c1", Kind: forge.KindRebuild, Repo: testRepo,
				Actor: forge.User{Login: "maintainer"}, Pull: &forge.Pull{Number: 7}, Comment: &forge.CommentRef{ID: 99, PullNumber: 7}})
			return nil
		}, func(h *harness) string {
			_, replies, _ := h.forge.Snapshot()
			return strings.Join(replies, "\n")
		}},
		{"re-run", func(t *testing.T, h *harness, repo store.Repository) error {
			job := h.jobs(t, h.builds(t)[0].ID)[0]
			h.deliver(t, &forge.Event{Forge: forge.GitHub, DeliveryID: "r1", Kind: forge.KindCheckRerun, Repo: testRepo,
				SHA: sha1, Actor: forge.User{Login: "alice"}, Check: &forge.CheckRef{ID: 5, ExternalID: strconv.FormatInt(job.ID, 10)}})
			return nil
		}, func(h *harness) string {
			checks, _, _ := h.forge.Snapshot()
			var failed []string
			for _, c := range checks {
				if c.State == forge.CheckFailure {
					failed = append(failed, c.Summary)
				}
			}
			return strings.Join(failed, "\n")
		}},
	}
	for _, w := range ways {
		for _, refuse := range []bool{true, false} {
			t.Run(w.name+map[bool]string{true: " over the quota", false: " within it"}[refuse], func(t *testing.T) {
				h := newHarness(t)
				h.deliver(t, push("d1", "main", sha1))
				repo, err := h.svc.store.RepositoryByPath(context.Background(), "alice", "pkgs")
				if err != nil {
					t.Fatal(err)
				}
				q := fixedQuota{}
				if refuse {
					q.why = why
				}
				h.svc.quota = q
				err = w.build(t, h, repo)
				builds := len(h.builds(t)) - 1
				if !refuse {
					if err != nil || builds != 1 {
						t.Fatalf("with minutes left: %d new builds, error %v; want one build", builds, err)
					}
					return
				}
				if builds != 0 {
					t.Errorf("over the quota %d builds started", builds)
				}
				if w.told == nil {
					if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), why) {
						t.Errorf("error %v: want a store.ErrInvalid with the quota's reason", err)
					}
				} else if got := w.told(h); !strings.Contains(got, why) {
					t.Errorf("the asker was told %q: want the quota's reason", got)
				}
			})
		}
	}
}

// TestRebuildCommentIsRefusedBeforeItsThumbsUp: a `/rebuild` that builds nothing gets a
// confused reaction and the reply that says why, never the 👍 that promises a build; one that
// builds gets only the 👍.
func TestRebuildCommentIsRefusedBeforeItsThumbsUp(t *testing.T) {
	cases := []struct {
		name  string
		actor string
		kind  forge.Kind
		quota string // the quota's refusal, "" none
		reply string // the start of the one reply, "" none
		react forge.Reaction
	}{
		{"builds", "maintainer", forge.KindRebuild, "", "", forge.ReactionThumbsUp},
		{"no write access", "stranger", forge.KindRebuild, "", "@stranger, only people with write access", forge.ReactionConfused},
		{"over the quota", "maintainer", forge.KindRebuild, "the build minutes are used up; ask the operator", "@maintainer, nothing was rebuilt: the build minutes are used up", forge.ReactionConfused},
		{"no failed jobs", "maintainer", forge.KindRebuildFailed, "", "The latest build of this pull request has no failed jobs", forge.ReactionConfused},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.svc.quota = fixedQuota{why: c.quota}
			h.forge.Writers["maintainer"] = true
			h.forge.Pulls[7] = forge.Pull{Number: 7, HeadSHA: sha2}
			h.deliver(t, &forge.Event{Forge: forge.GitHub, DeliveryID: "c1", Kind: c.kind, Repo: testRepo,
				Actor: forge.User{Login: c.actor}, Pull: &forge.Pull{Number: 7}, Comment: &forge.CommentRef{ID: 99, PullNumber: 7}})
			_, replies, reacts := h.forge.Snapshot()
			if len(reacts) != 1 || reacts[0] != c.react {
				t.Errorf("reactions %v: want only %v", reacts, c.react)
			}
			if c.reply == "" {
				if len(replies) != 0 || len(h.builds(t)) != 1 {
					t.Errorf("replies %q, %d builds: want one build and no reply", replies, len(h.builds(t)))
				}
				return
			}
			if len(replies) != 1 || !strings.HasPrefix(replies[0], c.reply) || len(h.builds(t)) != 0 {
				t.Errorf("replies %q, %d builds: want no build and one reply starting %q", replies, len(h.builds(t)), c.reply)
			}
		})
	}
}
