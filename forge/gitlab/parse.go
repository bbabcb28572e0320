package gitlab

import (
	"fmt"
	"net/http"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
)

// Parse reads a delivery's event name, dedupe key and body and returns the Event (call
// Webhook.Verify first). The dedupe key is Idempotency-Key when GitLab sends it (it stays the
// same across retries), else X-Gitlab-Event-UUID. It does no I/O.
func Parse(h http.Header, body []byte) (*forge.Event, error) {
	ev, err := ParsePayload(h.Get(HeaderEvent), body)
	if err != nil {
		return nil, err
	}
	ev.DeliveryID = h.Get(HeaderIdempotency)
	if ev.DeliveryID == "" {
		ev.DeliveryID = h.Get(HeaderEventUUID)
	}
	if ev.DeliveryID == "" {
		ev.DeliveryID = forge.BodyDeliveryID(body)
	}
	return ev, nil
}

// ParsePayload turns an X-Gitlab-Event name and its JSON body into an Event, without
// DeliveryID. Events the service does not act on return an *forge.IgnoredError; bodies that are
// not the announced event wrap forge.ErrMalformed.
func ParsePayload(event string, payload []byte) (*forge.Event, error) {
	switch gl.EventType(event) {
	case gl.EventTypePush, gl.EventTypeTagPush, gl.EventTypeMergeRequest, gl.EventTypeNote:
	case "":
		return nil, fmt.Errorf("%w: no %s header", forge.ErrMalformed, HeaderEvent)
	default:
		return nil, forge.Ignore(event, "openwrt-ppa does not act on it")
	}
	parsed, err := gl.ParseWebhook(gl.EventType(event), payload)
	if err != nil {
		return nil, fmt.Errorf("%w: %s body: %w", forge.ErrMalformed, event, err)
	}
	var ev *forge.Event
	switch p := parsed.(type) {
	case *gl.PushEvent:
		ev, err = fromPush(p, payload)
	case *gl.TagEvent:
		ev, err = fromTagPush(p, payload)
	case *gl.MergeEvent:
		ev, err = fromMerge(p, payload)
	case *gl.MergeCommentEvent:
		ev, err = fromMergeComment(p, payload)
	case *gl.CommitCommentEvent, *gl.IssueCommentEvent, *gl.SnippetCommentEvent:
		return nil, forge.Ignore(event, "comment outside a merge request")
	default:
		return nil, forge.Ignore(event, "openwrt-ppa does not act on it")
	}
	if err != nil {
		return nil, err
	}
	ev.Forge = forge.GitLab
	return ev, nil
}

func fromPush(p *gl.PushEvent, payload []byte) (*forge.Event, error) {
	if forge.BranchName(p.Ref) == "" {
		return nil, fmt.Errorf("%w: Push Hook for %q, which is no branch", forge.ErrMalformed, p.Ref)
	}
	ev := &forge.Event{
		Repo:   repo(p.ProjectID, p.Project.PathWithNamespace, p.Project.GitHTTPURL, p.Project.WebURL, p.Project.DefaultBranch, p.Project.Visibility, payload),
		Ref:    p.Ref,
		Before: p.Before,
		Actor:  forge.User{ID: p.UserID, Login: p.UserUsername},
	}
	if p.After == forge.ZeroSHA {
		ev.Kind = forge.KindBranchDeleted
	} else {
		ev.Kind, ev.SHA = forge.KindPush, firstSHA(p.CheckoutSHA, p.After)
	}
	return ev, checkRefEvent(ev)
}

func fromTagPush(p *gl.TagEvent, payload []byte) (*forge.Event, error) {
	if forge.TagName(p.Ref) == "" {
		return nil, fmt.Errorf("%w: Tag Push Hook for %q, which is no tag", forge.ErrMalformed, p.Ref)
	}
	ev := &forge.Event{
		Repo:   repo(p.ProjectID, p.Project.PathWithNamespace, p.Project.GitHTTPURL, p.Project.WebURL, p.Project.DefaultBranch, p.Project.Visibility, payload),
		Ref:    p.Ref,
		Before: p.Before,
		Actor:  forge.User{ID: p.UserID, Login: p.UserUsername},
	}
	if p.After == forge.ZeroSHA {
		ev.Kind = forge.KindTagDeleted
	} else {
		// An annotated tag's "after" is the tag object; checkout_sha is its commit.
		ev.Kind, ev.SHA = forge.KindTag, firstSHA(p.CheckoutSHA, p.After)
	}
	return ev, checkRefEvent(ev)
}

func checkRefEvent(ev *forge.Event) error {
	if ev.Repo.ID == 0 || ev.Repo.Name == "" {
		return fmt.Errorf("%w: %s without project", forge.ErrMalformed, ev.Ref)
	}
	if ev.Kind != forge.KindBranchDeleted && ev.Kind != forge.KindTagDeleted && !forge.ValidSHA(ev.SHA) {
		return fmt.Errorf("%w: push of %s without a commit id", forge.ErrMalformed, ev.Ref)
	}
	return nil
}

func fromMerge(p *gl.MergeEvent, payload []byte) (*forge.Event, error) {
	a := p.ObjectAttributes
	var kind forge.Kind
	merged := false
	switch a.Action {
	case "open":
		kind = forge.KindPullOpened
	case "reopen":
		kind = forge.KindPullReopened
	case "update":
		// oldrev is present only when new commits were pushed; other updates (title, labels,
		// approvals) change no code.
		if a.OldRev == "" {
			return nil, forge.Ignore("Merge Request Hook", "update without new commits")
		}
		kind = forge.KindPullUpdated
	case "close":
		kind = forge.KindPullClosed
	case "merge":
		kind, merged = forge.KindPullClosed, true
	default:
		return nil, forge.Ignore("Merge Request Hook", "action "+a.Action+" changes no code")
	}
	pid := a.TargetProjectID
	if pid == 0 {
		pid = p.Project.ID
	}
	ev := &forge.Event{
		Kind:  kind,
		Repo:  repo(pid, p.Project.PathWithNamespace, p.Project.GitHTTPURL, p.Project.WebURL, p.Project.DefaultBranch, p.Project.Visibility, payload),
		Ref:   mergeRef(a.IID),
		SHA:   a.LastCommit.ID,
		Actor: eventUser(p.User),
		Pull: &forge.Pull{
			Number:       int(a.IID),
			BaseRef:      a.TargetBranch,
			HeadRef:      a.SourceBranch,
			HeadSHA:      a.LastCommit.ID,
			FromFork:     a.SourceProjectID != a.TargetProjectID,
			HeadCloneURL: sourceURL(a.Source),
			Merged:       merged,
		},
	}
	ev.SentAt = parseTime(a.UpdatedAt)
	if a.IID == 0 || ev.Repo.ID == 0 || !forge.ValidSHA(ev.SHA) {
		return nil, fmt.Errorf("%w: Merge Request Hook without iid, project id or last commit", forge.ErrMalformed)
	}
	return ev, nil
}

func fromMergeComment(p *gl.MergeCommentEvent, payload []byte) (*forge.Event, error) {
	a := p.ObjectAttributes
	if a.System {
		return nil, forge.Ignore("Note Hook", "system note")
	}
	if a.Action != "" && a.Action != "create" {
		return nil, forge.Ignore("Note Hook", "only new comments carry commands")
	}
	kind, res := commentKind(a.Note)
	if kind == "" {
		return nil, forge.Ignore("Note Hook", "no /rebuild command")
	}
	mr := p.MergeRequest
	pid := p.ProjectID
	if pid == 0 {
		pid = p.Project.ID
	}
	n := int(mr.IID)
	ev := &forge.Event{
		Repo:  repo(pid, p.Project.PathWithNamespace, p.Project.GitHTTPURL, p.Project.WebURL, p.Project.DefaultBranch, p.Project.Visibility, payload),
		Ref:   mergeRef(mr.IID),
		SHA:   mr.LastCommit.ID,
		Actor: eventUser(p.User),
		Pull: &forge.Pull{
			Number:       n,
			BaseRef:      mr.TargetBranch,
			HeadRef:      mr.SourceBranch,
			HeadSHA:      mr.LastCommit.ID,
			FromFork:     mr.SourceProjectID != mr.TargetProjectID,
			HeadCloneURL: sourceURL(mr.Source),
		},
		Comment: &forge.CommentRef{ID: a.ID, PullNumber: n},
		SentAt:  parseTime(a.CreatedAt),
	}
	if n == 0 || ev.Repo.ID == 0 {
		return nil, fmt.Errorf("%w: Note Hook on a merge request without iid or project id", forge.ErrMalformed)
	}
	ev.Kind, ev.Reply, ev.Command = kind, res.Reply, res.Command
	return ev, nil
}

// mergeRef is the ref GitLab keeps for a merge request's head in the target project; it can be
// fetched even when the source is a fork.
func mergeRef(iid int64) string { return fmt.Sprintf("refs/merge-requests/%d/head", iid) }

// GitLab's hooks spell times in more than one way ("2026-11-21 08:00:00 UTC" in most, RFC 3339
// in newer ones).
var timeLayouts = []string{time.RFC3339, "2006-01-02 15:04:05 MST", "2006-01-02 15:04:05 -0700", "2006-01-02T15:04:05.000-07:00"}

// parseTime reads a hook's time, or returns zero: a time GitLab spelled differently must not
// reject a delivery, it only leaves the replay window to the dedupe.
func parseTime(s string) time.Time {
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
