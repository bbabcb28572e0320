package events

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// TestRefusalsSayOnlyWhatToDo: each build by hand the service refuses (the API's and the web's
// Rebuild, a Build resource) errors with a message that is shown to the user as it is, so it
// says what to do and carries none of the store's words; it is still a store.ErrInvalid, which
// the API answers 409 and a Build resource shows as refused. None of them starts a build.
func TestRefusalsSayOnlyWhatToDo(t *testing.T) {
	main := store.Ref{Kind: store.RefBranch, Name: "main"}
	disable := func(t *testing.T, h *harness, repo store.Repository) {
		if err := h.svc.store.SetRepositoryDisabled(context.Background(), repo.ID, true); err != nil {
			t.Fatal(err)
		}
	}
	breakConfig := func(sha string) func(*testing.T, *harness, store.Repository) {
		return func(t *testing.T, h *harness, _ store.Repository) {
			h.forge.Files[sha+":.openwrt-ppa.yml"] = []byte("archz: [x86_64]\n")
		}
	}
	start := func(ref store.Ref, sha string) func(*harness, store.Repository) error {
		return func(h *harness, repo store.Repository) error {
			_, err := h.svc.StartBuild(context.Background(), BuildRequest{RepoID: repo.ID, Ref: ref, SHA: sha, Actor: "alice", DeliveryID: "build-1"})
			return err
		}
	}
	rebuild := func(ref store.Ref) func(*harness, store.Repository) error {
		return func(h *harness, repo store.Repository) error {
			_, err := h.svc.Rebuild(context.Background(), repo.ID, ref, "alice")
			return err
		}
	}
	cases := []struct {
		name  string
		setup func(*testing.T, *harness, store.Repository)
		build func(*harness, store.Repository) error
		todo  string // what the message tells the user to do
	}{
		{"Build resource of a disabled repository", disable, start(main, sha2), "register it again to build"},
		{"Build resource of a pull request", nil, start(store.Ref{Kind: store.RefPR, Name: "7"}, sha2), "comment /rebuild on the pull request"},
		{"Build resource with no commit", nil, start(main, ""), "name a commit"},
		{"Build resource of a commit with a mistake in its configuration", breakConfig(sha2), start(main, sha2), "fix the file and push again"},
		{"rebuild of a disabled repository", disable, rebuild(main), "reinstall the app on it"},
		{"rebuild of a branch named -", nil, rebuild(store.Ref{Kind: store.RefBranch, Name: "-"}), "rename the branch"},
		{"rebuild of a commit with a mistake in its configuration", breakConfig(sha1), rebuild(main), "as the commit's checks say and push again"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.deliver(t, push("d1", "main", sha1))
			repo, err := h.svc.store.RepositoryByPath(context.Background(), "alice", "pkgs")
			if err != nil {
				t.Fatal(err)
			}
			before := len(h.builds(t))
			if c.setup != nil {
				c.setup(t, h, repo)
			}
			err = c.build(h, repo)
			if !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("error %v: want a store.ErrInvalid", err)
			}
			if msg := err.Error(); strings.Contains(msg, store.ErrInvalid.Error()) || !strings.Contains(msg, c.todo) {
				t.Errorf("message %q: want it to say %q and not %q", msg, c.todo, store.ErrInvalid.Error())
			}
			if n := len(h.builds(t)) - before; n != 0 {
				t.Errorf("%d builds started", n)
			}
		})
	}
}
