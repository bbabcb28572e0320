package gitlab

import (
	"encoding/json"
	"strings"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
)

// GitLab's visibility levels (the API's visibility_level).
const visibilityPublic = 20

// repo builds the neutral repository. The owner is the namespace path (group/sub for
// subgroups), never the namespace's display name that the payload's "namespace" holds.
func repo(id int64, pathWithNamespace, cloneURL, webURL, defaultBranch string, vis gl.VisibilityValue, payload []byte) forge.Repo {
	owner, name := "", pathWithNamespace
	if i := strings.LastIndexByte(pathWithNamespace, '/'); i >= 0 {
		owner, name = pathWithNamespace[:i], pathWithNamespace[i+1:]
	}
	return forge.Repo{
		Forge:         forge.GitLab,
		ID:            id,
		Owner:         owner,
		Name:          name,
		CloneURL:      cloneURL,
		WebURL:        webURL,
		DefaultBranch: defaultBranch,
		Private:       private(vis, payload),
	}
}

// private says whether a project needs credentials to read. client-go's webhook types keep the
// "visibility" string but not the numeric "visibility_level" most hooks send, so that one is
// read here. Unknown counts as private: a feed is better served too carefully than leaked.
func private(vis gl.VisibilityValue, payload []byte) bool {
	if vis != "" {
		return vis != gl.PublicVisibility
	}
	var p struct {
		Project struct {
			Level *int `json:"visibility_level"`
		} `json:"project"`
	}
	if json.Unmarshal(payload, &p) == nil && p.Project.Level != nil {
		return *p.Project.Level != visibilityPublic
	}
	return true
}

func eventUser(u *gl.EventUser) forge.User {
	if u == nil {
		return forge.User{}
	}
	return forge.User{ID: u.ID, Login: u.Username}
}

func sourceURL(r *gl.Repository) string {
	if r == nil {
		return ""
	}
	return r.GitHTTPURL
}

// firstSHA returns the first argument that is a commit id.
func firstSHA(shas ...string) string {
	for _, s := range shas {
		if forge.ValidSHA(s) {
			return s
		}
	}
	return ""
}
