package github

import (
	json "github.com/go-json-experiment/json"
	jsonv1 "github.com/go-json-experiment/json/v1"

	gh "github.com/google/go-github/v88/github"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
)

// pushBody holds only what fromPush reads of a push delivery. Pushes are most of a busy
// service's deliveries, and go-github's PushEvent decodes every commit's authors and file
// lists, which nothing here reads. Skipping them, with the v2 decoder (encoding/json/v2's
// reference implementation, which skips values without a second scan) held to v1's rules
// (names matched without case, duplicate names and invalid UTF-8 as encoding/json takes
// them), parses a 6 KB push about four times faster. The fields are go-github's (names,
// pointers, Timestamp), so a body that decodes both ways gives the same Event
// (TestPushFastPathMatchesGoGitHub, FuzzPushFastPath).
type pushBody struct {
	Ref          *string    `json:"ref"`
	Before       *string    `json:"before"`
	After        *string    `json:"after"`
	Deleted      *bool      `json:"deleted"`
	HeadCommit   *pushID    `json:"head_commit"`
	Sender       *pushUser  `json:"sender"`
	Installation *pushID64  `json:"installation"`
	Repo         *pushRepoB `json:"repository"`
}

type pushID struct {
	ID *string `json:"id"`
}

type pushID64 struct {
	ID *int64 `json:"id"`
}

type pushUser struct {
	ID    *int64  `json:"id"`
	Login *string `json:"login"`
	Name  *string `json:"name"`
}

type pushRepoB struct {
	ID            *int64        `json:"id"`
	Name          *string       `json:"name"`
	FullName      *string       `json:"full_name"`
	Owner         *pushUser     `json:"owner"`
	Private       *bool         `json:"private"`
	PushedAt      *gh.Timestamp `json:"pushed_at"`
	CloneURL      *string       `json:"clone_url"`
	HTMLURL       *string       `json:"html_url"`
	DefaultBranch *string       `json:"default_branch"`
}

// parsePush turns a push body into an Event. A body that does not decode into pushBody (no
// JSON, a wrong type, a timestamp go-github refuses) takes go-github's whole decode instead,
// whose errors and mending (dropOddTimestamps) are the parser's, so such a body is refused or
// mended as before; a field only go-github reads cannot fail a push any more.
func parsePush(payload []byte) (ev *forge.Event, ok bool, err error) {
	var p *pushBody
	if json.Unmarshal(payload, &p, jsonv1.DefaultOptionsV1()) != nil || p == nil {
		// null, too: go-github's answer to it is its own.
		return nil, false, nil
	}
	e := &gh.PushEvent{Ref: p.Ref, Before: p.Before, After: p.After, Deleted: p.Deleted,
		Sender: p.Sender.user()}
	if p.HeadCommit != nil {
		e.HeadCommit = &gh.HeadCommit{ID: p.HeadCommit.ID}
	}
	if p.Installation != nil {
		e.Installation = &gh.Installation{ID: p.Installation.ID}
	}
	if r := p.Repo; r != nil {
		e.Repo = &gh.PushEventRepository{ID: r.ID, Name: r.Name, FullName: r.FullName, Owner: r.Owner.user(),
			Private: r.Private, PushedAt: r.PushedAt, CloneURL: r.CloneURL, HTMLURL: r.HTMLURL, DefaultBranch: r.DefaultBranch}
	}
	ev, err = fromPush(e)
	return ev, true, err
}

func (u *pushUser) user() *gh.User {
	if u == nil {
		return nil
	}
	return &gh.User{ID: u.ID, Login: u.Login, Name: u.Name}
}
