package github

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"time"

	gh "github.com/google/go-github/v88/github"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
)

// Parse reads the event name, delivery id and body of a delivery (verified or not: call
// Webhook.Verify first) and returns the Event. It does no I/O.
func Parse(h http.Header, body []byte) (*forge.Event, error) {
	payload, err := jsonPayload(h.Get("Content-Type"), body)
	if err != nil {
		return nil, err
	}
	ev, err := ParsePayload(h.Get(HeaderEvent), payload)
	if err != nil {
		return nil, err
	}
	ev.DeliveryID = h.Get(HeaderDelivery)
	if ev.DeliveryID == "" {
		// GitHub always sends one; a hand-made delivery still gets a stable key.
		ev.DeliveryID = forge.BodyDeliveryID(body)
	}
	return ev, nil
}

// jsonPayload unwraps the form encoding a webhook may be configured with.
func jsonPayload(contentType string, body []byte) ([]byte, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt != "application/x-www-form-urlencoded" {
		return body, nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("%w: form body: %w", forge.ErrMalformed, err)
	}
	return []byte(form.Get("payload")), nil
}

// handled reports whether the service acts on a GitHub event (create and delete only to say
// why not); others are acknowledged and ignored before their body is read.
func handled(event string) bool {
	switch event {
	case "push", "pull_request", "issue_comment", "check_run", "check_suite", "installation",
		"installation_repositories", "ping", "create", "delete":
		return true
	}
	return false
}

// ParsePayload turns an event name (X-GitHub-Event) and its JSON body into an Event, without
// DeliveryID. Events the service does not act on return an *forge.IgnoredError; bodies that are
// not the announced event wrap forge.ErrMalformed.
func ParsePayload(event string, payload []byte) (*forge.Event, error) {
	if event == "" {
		return nil, fmt.Errorf("%w: no %s header", forge.ErrMalformed, HeaderEvent)
	}
	if !handled(event) {
		return nil, forge.Ignore(event, "openwrt-ppa does not act on it")
	}
	if event == "push" {
		if ev, ok, err := parsePush(payload); ok {
			if err != nil {
				return nil, err
			}
			ev.Forge = forge.GitHub
			return ev, nil
		}
	}
	return parseGoGitHub(event, payload)
}

// parseGoGitHub is ParsePayload through go-github's types, for every handled event.
func parseGoGitHub(event string, payload []byte) (*forge.Event, error) {
	parsed, err := gh.ParseWebHook(event, payload)
	if _, ok := errors.AsType[*time.ParseError](err); ok {
		// Older payloads (the App object in check events) carry "2018-04-25 20:42:10"; no
		// timestamp matters to us, so one GitHub spelled differently must not reject a delivery.
		if fixed, changed := dropOddTimestamps(payload); changed {
			parsed, err = gh.ParseWebHook(event, fixed)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s body: %w", forge.ErrMalformed, event, err)
	}
	var ev *forge.Event
	switch p := parsed.(type) {
	case *gh.PushEvent:
		ev, err = fromPush(p)
	case *gh.CreateEvent, *gh.DeleteEvent:
		// The push event carries the same news with its commit; building twice would race.
		return nil, forge.Ignore(event, "the push event for the same ref drives builds")
	case *gh.PullRequestEvent:
		ev, err = fromPullRequest(p)
	case *gh.IssueCommentEvent:
		ev, err = fromIssueComment(p)
	case *gh.CheckRunEvent:
		ev, err = fromCheckRun(p)
	case *gh.CheckSuiteEvent:
		ev, err = fromCheckSuite(p)
	case *gh.InstallationEvent:
		ev, err = fromInstallation(p)
	case *gh.InstallationRepositoriesEvent:
		ev, err = fromInstallationRepos(p)
	case *gh.PingEvent:
		ev = &forge.Event{Kind: forge.KindPing, Actor: user(p.Sender)}
		if p.Repo != nil {
			ev.Repo = repo(p.Repo, p.Installation)
		}
		ev.Installation = p.GetInstallation().GetID()
	default:
		return nil, forge.Ignore(event, "openwrt-ppa does not act on it")
	}
	if err != nil {
		return nil, err
	}
	ev.Forge = forge.GitHub
	return ev, nil
}

func fromPush(p *gh.PushEvent) (*forge.Event, error) {
	if p.Repo == nil || p.GetRef() == "" {
		return nil, fmt.Errorf("%w: push without repository or ref", forge.ErrMalformed)
	}
	ev := &forge.Event{
		Repo:   pushRepo(p.Repo, p.Installation),
		Ref:    p.GetRef(),
		Before: p.GetBefore(),
		Actor:  user(p.Sender),
	}
	// pushed_at is this push's time (a deletion carries the previous one, or none).
	ev.SentAt = p.Repo.GetPushedAt().Time
	deleted := p.GetDeleted() || p.GetAfter() == forge.ZeroSHA
	isTag := forge.TagName(ev.Ref) != ""
	switch {
	case !isTag && forge.BranchName(ev.Ref) == "":
		return nil, forge.Ignore("push", "ref "+ev.Ref+" is no branch or tag")
	case deleted && isTag:
		ev.Kind = forge.KindTagDeleted
	case deleted:
		ev.Kind = forge.KindBranchDeleted
	case isTag:
		// An annotated tag's "after" is the tag object; head_commit is the commit it points to.
		ev.Kind, ev.SHA = forge.KindTag, p.GetAfter()
		if id := p.GetHeadCommit().GetID(); forge.ValidSHA(id) {
			ev.SHA = id
		}
	default:
		ev.Kind, ev.SHA = forge.KindPush, p.GetAfter()
	}
	if !deleted && !forge.ValidSHA(ev.SHA) {
		return nil, fmt.Errorf("%w: push of %s without a commit id", forge.ErrMalformed, ev.Ref)
	}
	return ev, nil
}

func fromPullRequest(p *gh.PullRequestEvent) (*forge.Event, error) {
	var kind forge.Kind
	switch p.GetAction() {
	case "opened":
		kind = forge.KindPullOpened
	case "synchronize":
		kind = forge.KindPullUpdated
	case "reopened":
		kind = forge.KindPullReopened
	case "closed":
		kind = forge.KindPullClosed
	default:
		return nil, forge.Ignore("pull_request", "action "+p.GetAction()+" changes no code")
	}
	if p.Repo == nil || p.PullRequest == nil {
		return nil, fmt.Errorf("%w: pull_request without repository or pull_request", forge.ErrMalformed)
	}
	pr := pull(p.PullRequest, p.Repo)
	if pr.Number == 0 || !forge.ValidSHA(pr.HeadSHA) {
		return nil, fmt.Errorf("%w: pull_request without number or head commit", forge.ErrMalformed)
	}
	return &forge.Event{
		Kind:  kind,
		Repo:  repo(p.Repo, p.Installation),
		Ref:   pullRef(pr.Number),
		SHA:   pr.HeadSHA,
		Actor: user(p.Sender),
		Pull:  &pr,
		// Every action the service acts on moves updated_at.
		SentAt: p.PullRequest.GetUpdatedAt().Time,
	}, nil
}

func fromIssueComment(p *gh.IssueCommentEvent) (*forge.Event, error) {
	if p.GetAction() != "created" {
		return nil, forge.Ignore("issue_comment", "only new comments carry commands")
	}
	if p.Issue == nil || p.Comment == nil || p.Repo == nil {
		return nil, fmt.Errorf("%w: issue_comment without issue, comment or repository", forge.ErrMalformed)
	}
	if !p.Issue.IsPullRequest() {
		return nil, forge.Ignore("issue_comment", "comment on an issue, not a pull request")
	}
	if p.GetSender().GetType() == "Bot" {
		// Our own replies, and other apps', must never start builds.
		return nil, forge.Ignore("issue_comment", "comment by a bot")
	}
	res := forge.ParseComment(p.Comment.GetBody())
	if res.Nothing() {
		return nil, forge.Ignore("issue_comment", "no /rebuild command")
	}
	n := p.Issue.GetNumber()
	ev := &forge.Event{
		Repo:    repo(p.Repo, p.Installation),
		Ref:     pullRef(n),
		Actor:   user(p.Sender),
		Pull:    &forge.Pull{Number: n},
		Comment: &forge.CommentRef{ID: p.Comment.GetID(), PullNumber: n},
		SentAt:  p.Comment.GetCreatedAt().Time,
	}
	switch {
	case res.Reply != "":
		ev.Kind, ev.Reply = forge.KindCommentReply, res.Reply
	case res.Command.FailedOnly:
		ev.Kind, ev.Command = forge.KindRebuildFailed, res.Command
	default:
		ev.Kind, ev.Command = forge.KindRebuild, res.Command
	}
	return ev, nil
}

func fromCheckRun(p *gh.CheckRunEvent) (*forge.Event, error) {
	switch p.GetAction() {
	case "rerequested":
	case "requested_action":
		if id := p.GetRequestedAction().Identifier; id != forge.ActionRebuild {
			return nil, forge.Ignore("check_run", "requested action "+id+" is not openwrt-ppa's")
		}
	default:
		return nil, forge.Ignore("check_run", "action "+p.GetAction()+" asks nothing of openwrt-ppa")
	}
	cr := p.CheckRun
	if cr == nil || p.Repo == nil || !forge.ValidSHA(cr.GetHeadSHA()) {
		return nil, fmt.Errorf("%w: check_run without check run, repository or head commit", forge.ErrMalformed)
	}
	ev := &forge.Event{
		Kind:  forge.KindCheckRerun,
		Repo:  repo(p.Repo, p.Installation),
		SHA:   cr.GetHeadSHA(),
		Actor: user(p.Sender),
		Check: &forge.CheckRef{
			ID:         cr.GetID(),
			SuiteID:    cr.GetCheckSuite().GetID(),
			Name:       cr.GetName(),
			ExternalID: cr.GetExternalID(),
		},
	}
	if b := cr.GetCheckSuite().GetHeadBranch(); b != "" {
		ev.Ref = "refs/heads/" + b
	}
	ev.Pull = firstPull(cr.PullRequests, p.Repo)
	return ev, nil
}

func fromCheckSuite(p *gh.CheckSuiteEvent) (*forge.Event, error) {
	if p.GetAction() != "rerequested" {
		// "requested" arrives with every push, which drives builds itself.
		return nil, forge.Ignore("check_suite", "action "+p.GetAction()+" asks nothing of openwrt-ppa")
	}
	cs := p.CheckSuite
	if cs == nil || p.Repo == nil || !forge.ValidSHA(cs.GetHeadSHA()) {
		return nil, fmt.Errorf("%w: check_suite without suite, repository or head commit", forge.ErrMalformed)
	}
	ev := &forge.Event{
		Kind:  forge.KindCheckRerun,
		Repo:  repo(p.Repo, p.Installation),
		SHA:   cs.GetHeadSHA(),
		Actor: user(p.Sender),
		Check: &forge.CheckRef{SuiteID: cs.GetID()},
	}
	if b := cs.GetHeadBranch(); b != "" {
		ev.Ref = "refs/heads/" + b
	}
	ev.Pull = firstPull(cs.PullRequests, p.Repo)
	return ev, nil
}

func fromInstallation(p *gh.InstallationEvent) (*forge.Event, error) {
	var kind forge.Kind
	switch p.GetAction() {
	case "created":
		kind = forge.KindInstalled
	case "deleted":
		kind = forge.KindUninstalled
	default:
		return nil, forge.Ignore("installation", "action "+p.GetAction()+" changes no repository")
	}
	if p.Installation == nil || p.Installation.GetID() == 0 {
		return nil, fmt.Errorf("%w: installation event without installation id", forge.ErrMalformed)
	}
	return &forge.Event{
		Kind:         kind,
		Actor:        user(p.Sender),
		Installation: p.Installation.GetID(),
		Repos:        repos(p.Repositories, p.Installation),
	}, nil
}

func fromInstallationRepos(p *gh.InstallationRepositoriesEvent) (*forge.Event, error) {
	ev := &forge.Event{Actor: user(p.Sender), Installation: p.GetInstallation().GetID()}
	switch p.GetAction() {
	case "added":
		ev.Kind, ev.Repos = forge.KindReposAdded, repos(p.RepositoriesAdded, p.Installation)
	case "removed":
		ev.Kind, ev.Repos = forge.KindReposRemoved, repos(p.RepositoriesRemoved, p.Installation)
	default:
		return nil, forge.Ignore("installation_repositories", "unknown action "+p.GetAction())
	}
	if ev.Installation == 0 {
		return nil, fmt.Errorf("%w: installation_repositories event without installation id", forge.ErrMalformed)
	}
	return ev, nil
}

// pullRef is the ref GitHub keeps for a pull request's head in the base repository; it can be
// fetched even when the head lives in a fork.
func pullRef(n int) string { return fmt.Sprintf("refs/pull/%d/head", n) }
