package gitlab

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
)

// maxDescription is GitLab's limit on a commit status description.
const maxDescription = 255

// ReportCheck sets the commit status named chk.Name on chk.SHA. GitLab keys statuses by
// sha, ref and name, so the returned id is the name. Posting a state the status already has
// answers 400 "Cannot transition status"; that is the wanted state, so it is no error.
// Some GitLab versions refuse pending → success; then the status passes through running.
// GitLab statuses have no summary or annotations: the description carries the title and the
// target URL the build page.
func (c *Client) ReportCheck(ctx context.Context, repo forge.Repo, chk forge.Check) (string, error) {
	state, ok := statusState(chk.State)
	if !ok {
		return "", fmt.Errorf("gitlab: status %q: unknown state %q", chk.Name, chk.State)
	}
	opt := &gl.SetCommitStatusOptions{
		State:       state,
		Name:        &chk.Name,
		Description: optional(forge.Truncate(chk.Title, maxDescription)),
		TargetURL:   optional(chk.DetailsURL),
	}
	// Only branch and tag names are refs to GitLab's statuses; for merge request heads it
	// finds the pipeline by sha.
	if ref := firstNonEmpty(forge.BranchName(chk.Ref), forge.TagName(chk.Ref)); ref != "" {
		opt.Ref = &ref
	}
	err := c.setStatus(ctx, repo, chk.SHA, opt)
	if from, ok := refusedFrom(err); ok && from != string(state) && state != gl.Running && state != gl.Pending {
		// Some GitLab versions refuse pending → success (atlantis#1971): pass through running.
		c.log.Debug("gitlab: status refused a jump; passing through running", "repo", repo.FullName(), "name", chk.Name, "from", from, "to", state)
		via := *opt
		via.State = gl.Running
		if err = c.setStatus(ctx, repo, chk.SHA, &via); err == nil {
			err = c.setStatus(ctx, repo, chk.SHA, opt)
		}
	}
	if from, ok := refusedFrom(err); ok && from == string(state) {
		// Posting the state the status already has: the wanted state is there.
		c.log.Debug("gitlab: status already in state", "repo", repo.FullName(), "name", chk.Name, "state", state)
		err = nil
	}
	if err != nil {
		return "", fmt.Errorf("gitlab: setting status %q on %s@%.12s: %w", chk.Name, repo.FullName(), chk.SHA, err)
	}
	return chk.Name, nil
}

func (c *Client) setStatus(ctx context.Context, repo forge.Repo, sha string, opt *gl.SetCommitStatusOptions) error {
	_, _, err := c.api.Commits.SetCommitStatus(pid(repo), sha, opt, gl.WithContext(ctx))
	return err
}

// refusedFrom reads GitLab's 400 "Cannot transition status via :run from :running" and
// returns the state the status is in ("running").
func refusedFrom(err error) (string, bool) {
	er, ok := errors.AsType[*gl.ErrorResponse](err)
	if !ok || er.Response == nil || er.Response.StatusCode != http.StatusBadRequest {
		return "", false
	}
	msg := er.Message + " " + string(er.Body)
	_, rest, ok := strings.Cut(msg, "Cannot transition status via :")
	if !ok {
		return "", false
	}
	_, rest, ok = strings.Cut(rest, " from :")
	if !ok {
		return "", false
	}
	end := strings.IndexFunc(rest, func(r rune) bool { return (r < 'a' || r > 'z') && r != '_' })
	if end < 0 {
		end = len(rest)
	}
	return rest[:end], true
}

func statusState(s forge.CheckState) (gl.BuildStateValue, bool) {
	switch s {
	case forge.CheckQueued:
		return gl.Pending, true
	case forge.CheckInProgress:
		return gl.Running, true
	case forge.CheckSuccess:
		return gl.Success, true
	case forge.CheckFailure, forge.CheckTimedOut:
		// GitLab has no "timed out" state; the description says why it failed.
		return gl.Failed, true
	case forge.CheckCancelled:
		return gl.Canceled, true
	}
	return "", false
}

// Reply posts a note on merge request number.
func (c *Client) Reply(ctx context.Context, repo forge.Repo, number int, body string) error {
	_, _, err := c.api.Notes.CreateMergeRequestNote(pid(repo), int64(number),
		&gl.CreateMergeRequestNoteOptions{Body: &body}, gl.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("gitlab: replying on %s!%d: %w", repo.FullName(), number, err)
	}
	return nil
}

// React awards an emoji to the note. GitLab names emoji by their shortcode.
func (c *Client) React(ctx context.Context, repo forge.Repo, ref forge.CommentRef, r forge.Reaction) error {
	name := map[forge.Reaction]string{
		forge.ReactionEyes:     "eyes",
		forge.ReactionThumbsUp: "thumbsup",
		forge.ReactionConfused: "confused",
	}[r]
	if name == "" {
		name = string(r)
	}
	_, _, err := c.api.AwardEmoji.CreateMergeRequestAwardEmojiOnNote(pid(repo), int64(ref.PullNumber), ref.ID,
		&gl.CreateAwardEmojiOptions{Name: name}, gl.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("gitlab: reacting to note %d on %s!%d: %w", ref.ID, repo.FullName(), ref.PullNumber, err)
	}
	return nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
