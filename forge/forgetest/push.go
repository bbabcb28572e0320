package forgetest

import (
	"strings"
	"testing"
)

// GitHubPush is a push to one repository as GitHub delivers it; Body writes the payload.
type GitHubPush struct {
	Owner, Name    string
	RepoID         int64
	Private        bool
	CloneURL       string
	InstallationID int64
	// Ref is the full ref (refs/heads/main); Before and After the commits. A zero Before creates
	// the ref, a zero After deletes it.
	Ref, Before, After string
}

// Body is the push payload: the project's real push (github/push/branch-updated.json) with the
// repository, installation, ref and commits of p, pushed by the owner, in no organization.
func (p GitHubPush) Body(t testing.TB) []byte {
	t.Helper()
	full := p.Owner + "/" + p.Name
	zero := strings.Repeat("0", 40)
	return Rewrite(t, Payload(t, "github/push/branch-updated.json"), func(doc map[string]any) {
		doc["ref"], doc["before"], doc["after"] = p.Ref, p.Before, p.After
		doc["created"], doc["deleted"], doc["forced"] = p.Before == zero, p.After == zero, false
		doc["base_ref"] = nil
		if p.After == zero {
			doc["head_commit"] = nil
			doc["commits"] = []any{}
		} else {
			Obj(t, doc, "head_commit")["id"] = p.After
		}
		doc["repository"] = map[string]any{
			"id": p.RepoID, "name": p.Name, "full_name": full, "private": p.Private,
			"owner":     map[string]any{"login": p.Owner, "id": 1, "type": "User"},
			"clone_url": p.CloneURL, "html_url": "https://github.com/" + full,
			"default_branch": "main", "master_branch": "main",
		}
		doc["installation"] = map[string]any{"id": p.InstallationID}
		delete(doc, "organization")
		doc["sender"] = map[string]any{"login": p.Owner, "id": 1}
		doc["pusher"] = map[string]any{"name": p.Owner, "email": p.Owner + "@example.org"}
	})
}
