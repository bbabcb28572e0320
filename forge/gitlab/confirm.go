package gitlab

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
)

var _ forge.Confirmer = (*Client)(nil)

// Confirm re-reads a merge request hook's merge request, or a note hook's note and merge
// request, from GitLab's API: whoever knows a webhook token can write any body, so nothing is
// built on what the body says alone. A merge request's fork status, branches and head come
// from the API; a hook whose head is not the merge request's head now is refused (stale or
// forged: a hook for the newer head comes, or came, too). A note's author and text come from
// the API, and the commit it asks to build is the merge request's head when the note was
// written (its diff versions), so a push after a maintainer's /rebuild is not built on their
// word. Other events come back unchanged.
func (c *Client) Confirm(ctx context.Context, ev forge.Event) (forge.Event, error) {
	switch ev.Kind {
	case forge.KindPullOpened, forge.KindPullUpdated, forge.KindPullReopened, forge.KindPullClosed:
		return c.confirmMerge(ctx, ev)
	case forge.KindRebuild, forge.KindRebuildFailed, forge.KindCommentReply:
		return c.confirmNote(ctx, ev)
	}
	return ev, nil
}

func (c *Client) confirmMerge(ctx context.Context, ev forge.Event) (forge.Event, error) {
	mr, pull, err := c.readMerge(ctx, ev)
	if err != nil {
		return forge.Event{}, err
	}
	open := ev.Kind != forge.KindPullClosed
	if open != (mr.State == "opened") {
		return forge.Event{}, &forge.UnconfirmedError{What: fmt.Sprintf("state of !%d", pull.Number), Delivered: string(ev.Kind), Forge: mr.State}
	}
	if open && ev.SHA != mr.SHA {
		return forge.Event{}, &forge.UnconfirmedError{What: fmt.Sprintf("head of !%d", pull.Number), Delivered: ev.SHA, Forge: mr.SHA}
	}
	ev.Pull, ev.SHA = &pull, mr.SHA
	return ev, nil
}

func (c *Client) confirmNote(ctx context.Context, ev forge.Event) (forge.Event, error) {
	if ev.Comment == nil || ev.Pull == nil {
		return forge.Event{}, &forge.UnconfirmedError{What: "note", Delivered: "a command without note or merge request", Forge: "-"}
	}
	n := ev.PullNumber()
	note, resp, err := c.api.Notes.GetMergeRequestNote(ev.Repo.ID, int64(n), ev.Comment.ID, gl.WithContext(ctx))
	if status(resp, err) == http.StatusNotFound {
		return forge.Event{}, &forge.UnconfirmedError{What: fmt.Sprintf("note %d on !%d", ev.Comment.ID, n), Delivered: "exists", Forge: "not found"}
	}
	if err != nil {
		return forge.Event{}, fmt.Errorf("gitlab: reading note %d on !%d of project %d: %w", ev.Comment.ID, n, ev.Repo.ID, err)
	}
	if note.Author.ID != ev.Actor.ID {
		return forge.Event{}, &forge.UnconfirmedError{What: fmt.Sprintf("author of note %d", note.ID),
			Delivered: ev.Actor.Login + " (" + strconv.FormatInt(ev.Actor.ID, 10) + ")", Forge: note.Author.Username + " (" + strconv.FormatInt(note.Author.ID, 10) + ")"}
	}
	if note.System {
		return forge.Event{}, &forge.UnconfirmedError{What: fmt.Sprintf("note %d", note.ID), Delivered: "a comment", Forge: "a system note"}
	}
	// The command is what the note says now: an edited note commands what it says, and a
	// delivery that made one up is refused.
	if kind, _ := commentKind(note.Body); kind != ev.Kind {
		return forge.Event{}, &forge.UnconfirmedError{What: fmt.Sprintf("command of note %d", note.ID), Delivered: string(ev.Kind), Forge: string(kind)}
	}
	_, pull, err := c.readMerge(ctx, ev)
	if err != nil {
		return forge.Event{}, err
	}
	if note.CreatedAt == nil {
		return forge.Event{}, fmt.Errorf("gitlab: note %d on !%d has no creation time", note.ID, n)
	}
	head, err := c.headAt(ctx, ev.Repo.ID, n, *note.CreatedAt)
	if err != nil {
		return forge.Event{}, err
	}
	pull.HeadSHA = head
	ev.Pull, ev.SHA = &pull, head
	ev.Actor = forge.User{ID: note.Author.ID, Login: note.Author.Username}
	ev.SentAt = note.CreatedAt.UTC()
	return ev, nil
}

// commentKind is the event kind a note's text makes, "" for none.
func commentKind(body string) (forge.Kind, forge.CommentResult) {
	res := forge.ParseComment(body)
	switch {
	case res.Nothing():
		return "", res
	case res.Reply != "":
		return forge.KindCommentReply, res
	case res.Command.FailedOnly:
		return forge.KindRebuildFailed, res
	}
	return forge.KindRebuild, res
}

// readMerge reads merge request ev.Pull.Number of ev.Repo and returns it with the neutral
// Pull as the API has it.
func (c *Client) readMerge(ctx context.Context, ev forge.Event) (*gl.MergeRequest, forge.Pull, error) {
	n := ev.PullNumber()
	mr, resp, err := c.api.MergeRequests.GetMergeRequest(ev.Repo.ID, int64(n), nil, gl.WithContext(ctx))
	if status(resp, err) == http.StatusNotFound {
		return nil, forge.Pull{}, &forge.UnconfirmedError{What: fmt.Sprintf("merge request !%d of project %d", n, ev.Repo.ID), Delivered: "exists", Forge: "not found"}
	}
	if err != nil {
		return nil, forge.Pull{}, fmt.Errorf("gitlab: reading merge request !%d of project %d: %w", n, ev.Repo.ID, err)
	}
	if mr.TargetProjectID != ev.Repo.ID {
		return nil, forge.Pull{}, &forge.UnconfirmedError{What: fmt.Sprintf("target project of !%d", n),
			Delivered: strconv.FormatInt(ev.Repo.ID, 10), Forge: strconv.FormatInt(mr.TargetProjectID, 10)}
	}
	pull := forge.Pull{
		Number:   int(mr.IID),
		BaseRef:  mr.TargetBranch,
		HeadRef:  mr.SourceBranch,
		HeadSHA:  mr.SHA,
		FromFork: mr.SourceProjectID != mr.TargetProjectID,
		Merged:   mr.State == "merged",
	}
	if pull.FromFork {
		// The hook's source URL is the sender's word; the fork's clone URL is GitLab's. A
		// deleted fork leaves it empty (refs/merge-requests/N/head still has the code).
		src, resp, err := c.api.Projects.GetProject(mr.SourceProjectID, &gl.GetProjectOptions{}, gl.WithContext(ctx))
		switch {
		case status(resp, err) == http.StatusNotFound:
		case err != nil:
			return nil, forge.Pull{}, fmt.Errorf("gitlab: reading source project %d of !%d: %w", mr.SourceProjectID, n, err)
		default:
			pull.HeadCloneURL = src.HTTPURLToRepo
		}
	}
	return mr, pull, nil
}

// headAt is the merge request's head as of t: the newest diff version created at or before t.
func (c *Client) headAt(ctx context.Context, project int64, n int, t time.Time) (string, error) {
	versions, _, err := c.api.MergeRequests.GetMergeRequestDiffVersions(project, int64(n), nil, gl.WithContext(ctx))
	if err != nil {
		return "", fmt.Errorf("gitlab: reading the diff versions of !%d of project %d: %w", n, project, err)
	}
	head, at := "", int64(0)
	for _, v := range versions {
		if v.CreatedAt == nil || v.CreatedAt.Unix() > t.Unix() || !forge.ValidSHA(v.HeadCommitSHA) {
			continue
		}
		if head == "" || v.CreatedAt.Unix() > at {
			head, at = v.HeadCommitSHA, v.CreatedAt.Unix()
		}
	}
	if head == "" {
		return "", &forge.UnconfirmedError{What: fmt.Sprintf("head of !%d when the note was written", n), Delivered: "a commit", Forge: "none"}
	}
	return head, nil
}
