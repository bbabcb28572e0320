package forgetest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// GitLabToken is the API token the fake GitLab accepts.
const GitLabToken = "glpat-forgetest"

// GitLab is a fake GitLab REST API (v4). It checks the token on every request and the body of
// every commit status against GitLab's rules (state required and one of pending, running,
// success, failed, canceled), keeps statuses as GitLab's state machine does (posting the state
// a status has answers 400 "Cannot transition status…"; with Strict, pending → success or
// failed does too, as some GitLab versions answer), keeps notes and award emoji, and records
// every call.
type GitLab struct {
	*httptest.Server
	recorder
	t testing.TB

	mu       sync.Mutex
	Strict   bool
	statuses map[statusKey]string
	members  map[string]int    // "project user" → access level
	files    map[string][]byte // "project@ref:path"
	mrs      map[string]map[string]any
	projects map[string]map[string]any
	users    map[string]int64 // username → id
	refs     map[string]bool  // "project branches|tags name"
	notes    []map[string]any
	emoji    []map[string]any
	mrNotes  map[string]map[string]any   // "project!iid#note" → note, as GET …/notes/:id answers
	versions map[string][]map[string]any // "project!iid" → diff versions
	groups   map[string]map[string]any
	nextID   int64
}

// statusKey is what GitLab keys a commit status by.
type statusKey struct{ project, sha, ref, name string }

// NewGitLab starts a fake GitLab; it stops when the test ends.
func NewGitLab(t testing.TB) *GitLab {
	t.Helper()
	g := &GitLab{t: t, statuses: map[statusKey]string{}, members: map[string]int{}, files: map[string][]byte{}, mrs: map[string]map[string]any{}, projects: map[string]map[string]any{}, users: map[string]int64{}, refs: map[string]bool{},
		mrNotes: map[string]map[string]any{}, versions: map[string][]map[string]any{}, groups: map[string]map[string]any{}, nextID: 5000}
	g.Server = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.Close)
	return g
}

// SetMember gives user (by id) access level in project (by id): 10 guest, 20 reporter,
// 30 developer, 40 maintainer, 50 owner.
func (g *GitLab) SetMember(project, user int64, level int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.members[fmt.Sprint(project, " ", user)] = level
}

// SetFile makes path readable at ref in project.
func (g *GitLab) SetFile(project int64, ref, path string, data []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.files[fmt.Sprint(project, "@", ref, ":", path)] = data
}

// SetMergeRequest stores merge request iid of project with its head.
func (g *GitLab) SetMergeRequest(project, iid int64, sha, source, target string, sourceProject int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.mrs[fmt.Sprint(project, "!", iid)] = map[string]any{"iid": iid, "sha": sha, "source_branch": source,
		"target_branch": target, "source_project_id": sourceProject, "target_project_id": project, "state": "opened"}
}

// SetMergeRequestState sets merge request iid's state: opened, closed or merged.
func (g *GitLab) SetMergeRequestState(project, iid int64, state string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.mrs[fmt.Sprint(project, "!", iid)]["state"] = state
}

// MRVersion is one diff version of a merge request: the head it had from At on.
type MRVersion struct {
	SHA string
	At  time.Time
}

// SetMergeRequestVersions stores merge request iid's diff versions (each push to its source
// branch makes one), as GET …/merge_requests/:iid/versions answers them: newest first.
func (g *GitLab) SetMergeRequestVersions(project, iid int64, versions ...MRVersion) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []map[string]any
	for i, v := range versions {
		out = append(out, map[string]any{"id": i + 1, "head_commit_sha": v.SHA, "created_at": v.At.UTC().Format(time.RFC3339), "state": "collected"})
	}
	slices.Reverse(out)
	g.versions[fmt.Sprint(project, "!", iid)] = out
}

// MRNote is a note on a merge request as GitLab keeps it.
type MRNote struct {
	ID       int64
	AuthorID int64
	Author   string // username
	Body     string
	System   bool
	At       time.Time
}

// SetMergeRequestNote stores a note on merge request iid of project.
func (g *GitLab) SetMergeRequestNote(project, iid int64, n MRNote) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.mrNotes[fmt.Sprint(project, "!", iid, "#", n.ID)] = map[string]any{"id": n.ID, "body": n.Body, "system": n.System,
		"author": map[string]any{"id": n.AuthorID, "username": n.Author}, "created_at": n.At.UTC().Format(time.RFC3339),
		"noteable_type": "MergeRequest", "noteable_iid": iid, "project_id": project}
}

// SetGroup makes group id known with its full path (parent/child for a subgroup).
func (g *GitLab) SetGroup(id int64, fullPath string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.groups[strconv.FormatInt(id, 10)] = map[string]any{"id": id, "full_path": fullPath, "path": fullPath[strings.LastIndexByte(fullPath, '/')+1:]}
}

// SetRef makes a branch ("branches") or tag ("tags") of project exist, or not.
func (g *GitLab) SetRef(project int64, kind, name string, exists bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.refs[fmt.Sprint(project, " ", kind, " ", name)] = exists
}

// SetUser makes the user name findable (GET /users?username=).
func (g *GitLab) SetUser(id int64, username string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.users[username] = id
}

// SetProject stores project id with its namespace path, path, clone URL and visibility
// (public, internal or private), as GET /projects/:id answers.
func (g *GitLab) SetProject(id int64, namespace, path, cloneURL, visibility string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.projects[strconv.FormatInt(id, 10)] = map[string]any{"id": id, "path": path,
		"path_with_namespace": namespace + "/" + path, "namespace": map[string]any{"full_path": namespace},
		"http_url_to_repo": cloneURL, "visibility": visibility, "default_branch": "main"}
}

// Status returns the state of the status name on sha (any ref), or "".
func (g *GitLab) Status(project int64, sha, name string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	for k, v := range g.statuses {
		if k.project == strconv.FormatInt(project, 10) && k.sha == sha && k.name == name {
			return v
		}
	}
	return ""
}

// Notes returns the notes created, in order.
func (g *GitLab) Notes() []map[string]any {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]map[string]any(nil), g.notes...)
}

// Emoji returns the award emoji created, in order.
func (g *GitLab) Emoji() []map[string]any {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]map[string]any(nil), g.emoji...)
}

var (
	glStatus = regexp.MustCompile(`^/api/v4/projects/([^/]+)/statuses/([0-9a-f]+)$`)
	glNotes  = regexp.MustCompile(`^/api/v4/projects/([^/]+)/merge_requests/(\d+)/notes$`)
	glEmoji  = regexp.MustCompile(`^/api/v4/projects/([^/]+)/merge_requests/(\d+)/notes/(\d+)/award_emoji$`)
	glMember = regexp.MustCompile(`^/api/v4/projects/([^/]+)/members/all/(\d+)$`)
	glMR     = regexp.MustCompile(`^/api/v4/projects/([^/]+)/merge_requests/(\d+)$`)
	glMRNote = regexp.MustCompile(`^/api/v4/projects/([^/]+)/merge_requests/(\d+)/notes/(\d+)$`)
	glMRVers = regexp.MustCompile(`^/api/v4/projects/([^/]+)/merge_requests/(\d+)/versions$`)
	glGroup  = regexp.MustCompile(`^/api/v4/groups/([^/]+)$`)
	glFile   = regexp.MustCompile(`^/api/v4/projects/([^/]+)/repository/files/(.+)/raw$`)
	glProj   = regexp.MustCompile(`^/api/v4/projects/([^/]+)$`)
	glUsers  = regexp.MustCompile(`^/api/v4/users$`)
	glRef    = regexp.MustCompile(`^/api/v4/projects/([^/]+)/repository/(branches|tags)/(.+)$`)
)

// glEvent names GitLab's state machine event that leads to state, for its error messages;
// "" for no state a status can be posted in.
func glEvent(state string) string {
	switch state {
	case "pending":
		return "enqueue"
	case "running":
		return "run"
	case "success":
		return "success"
	case "failed":
		return "drop"
	case "canceled":
		return "cancel"
	}
	return ""
}

func (g *GitLab) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	call := Call{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Auth: r.Header.Get("PRIVATE-TOKEN"), Body: body}
	status, resp := g.answer(r, call)
	call.Status = status
	g.add(call)
	if raw, ok := resp.([]byte); ok {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(status)
		_, _ = w.Write(raw)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(resp)
}

func (g *GitLab) answer(r *http.Request, c Call) (int, any) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c.Auth != GitLabToken {
		g.t.Errorf("fake GitLab: %s with PRIVATE-TOKEN %q", c, c.Auth)
		return http.StatusUnauthorized, map[string]any{"message": "401 Unauthorized"}
	}
	var req map[string]any
	if len(c.Body) > 0 {
		if err := json.Unmarshal(c.Body, &req); err != nil {
			g.t.Errorf("fake GitLab: %s: body is no JSON: %s", c, c.Body)
			return http.StatusBadRequest, map[string]any{"message": "bad JSON"}
		}
	}
	switch {
	case c.Method == "POST" && glStatus.MatchString(c.Path):
		m := glStatus.FindStringSubmatch(c.Path)
		state, _ := req["state"].(string)
		if glEvent(state) == "" {
			g.t.Errorf("fake GitLab: %s: state %q is not one of pending, running, success, failed, canceled", c, state)
			return http.StatusBadRequest, map[string]any{"error": "state does not have a valid value"}
		}
		name, _ := req["name"].(string)
		if name == "" {
			name = "default"
		}
		ref, _ := req["ref"].(string)
		key := statusKey{m[1], m[2], ref, name}
		from := g.statuses[key]
		refused := from == state ||
			slices.Contains([]string{"success", "failed", "canceled"}, from) && state == "running" ||
			g.Strict && from == "pending" && (state == "success" || state == "failed")
		if refused {
			ev := glEvent(state)
			return http.StatusBadRequest, map[string]any{"message": fmt.Sprintf(
				"Cannot transition status via :%s from :%s (Reason(s): Status cannot transition via \"%s\")", ev, from, ev)}
		}
		g.statuses[key] = state
		g.nextID++
		return http.StatusCreated, map[string]any{"id": g.nextID, "sha": m[2], "status": state, "name": name, "ref": ref}
	case c.Method == "POST" && glNotes.MatchString(c.Path):
		if b, _ := req["body"].(string); b == "" {
			g.t.Errorf("fake GitLab: %s without body", c)
			return http.StatusBadRequest, map[string]any{"error": "body is missing"}
		}
		g.nextID++
		req["id"] = g.nextID
		req["mr"], _ = strconv.Atoi(glNotes.FindStringSubmatch(c.Path)[2])
		g.notes = append(g.notes, req)
		return http.StatusCreated, req
	case c.Method == "POST" && glEmoji.MatchString(c.Path):
		g.nextID++
		req["id"] = g.nextID
		req["note_id"], _ = strconv.ParseInt(glEmoji.FindStringSubmatch(c.Path)[3], 10, 64)
		g.emoji = append(g.emoji, req)
		return http.StatusCreated, req
	case c.Method == "GET" && glMember.MatchString(c.Path):
		m := glMember.FindStringSubmatch(c.Path)
		level, ok := g.members[m[1]+" "+m[2]]
		if !ok {
			return http.StatusNotFound, map[string]any{"message": "404 Not found"}
		}
		id, _ := strconv.ParseInt(m[2], 10, 64)
		return http.StatusOK, map[string]any{"id": id, "access_level": level}
	case c.Method == "GET" && glMR.MatchString(c.Path):
		m := glMR.FindStringSubmatch(c.Path)
		mr, ok := g.mrs[m[1]+"!"+m[2]]
		if !ok {
			return http.StatusNotFound, map[string]any{"message": "404 Not found"}
		}
		return http.StatusOK, mr
	case c.Method == "GET" && glMRNote.MatchString(c.Path):
		m := glMRNote.FindStringSubmatch(c.Path)
		n, ok := g.mrNotes[m[1]+"!"+m[2]+"#"+m[3]]
		if !ok {
			return http.StatusNotFound, map[string]any{"message": "404 Not found"}
		}
		return http.StatusOK, n
	case c.Method == "GET" && glMRVers.MatchString(c.Path):
		m := glMRVers.FindStringSubmatch(c.Path)
		if _, ok := g.mrs[m[1]+"!"+m[2]]; !ok {
			return http.StatusNotFound, map[string]any{"message": "404 Not found"}
		}
		return http.StatusOK, append([]map[string]any{}, g.versions[m[1]+"!"+m[2]]...)
	case c.Method == "GET" && glGroup.MatchString(c.Path):
		gr, ok := g.groups[glGroup.FindStringSubmatch(c.Path)[1]]
		if !ok {
			return http.StatusNotFound, map[string]any{"message": "404 Group Not Found"}
		}
		return http.StatusOK, gr
	case c.Method == "GET" && glRef.MatchString(c.Path):
		m := glRef.FindStringSubmatch(c.Path)
		if !g.refs[m[1]+" "+m[2]+" "+m[3]] {
			return http.StatusNotFound, map[string]any{"message": "404 Not Found"}
		}
		return http.StatusOK, map[string]any{"name": m[3]}
	case c.Method == "GET" && glUsers.MatchString(c.Path):
		name := r.URL.Query().Get("username")
		if id, ok := g.users[name]; ok {
			return http.StatusOK, []map[string]any{{"id": id, "username": name}}
		}
		return http.StatusOK, []map[string]any{}
	case c.Method == "GET" && glProj.MatchString(c.Path):
		p, ok := g.projects[glProj.FindStringSubmatch(c.Path)[1]]
		if !ok {
			return http.StatusNotFound, map[string]any{"message": "404 Project Not Found"}
		}
		return http.StatusOK, p
	case c.Method == "GET" && glFile.MatchString(c.Path):
		m := glFile.FindStringSubmatch(c.Path)
		data, ok := g.files[m[1]+"@"+r.URL.Query().Get("ref")+":"+m[2]]
		if !ok {
			return http.StatusNotFound, map[string]any{"message": "404 File Not Found"}
		}
		return http.StatusOK, data
	}
	g.t.Errorf("fake GitLab: no route for %s", c)
	return http.StatusNotFound, map[string]any{"message": "404 Not found"}
}
