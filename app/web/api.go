package web

import (
	"cmp"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// apiRoute is one route of the JSON API. The table is what openapi.yaml documents: a test checks
// that both name the same routes.
type apiRoute struct {
	Method, Pattern string
	Handle          func(h *Handler, w http.ResponseWriter, r *http.Request, a access)
	NeedsRepo       bool
}

// apiPrefix starts every API path.
const apiPrefix = "/api/v1"

// apiTable lists the API's routes; patterns are ServeMux patterns below apiPrefix.
func apiTable() []apiRoute {
	return []apiRoute{
		{"GET", "/repos", (*Handler).apiRepos, false},
		{"POST", "/repos", (*Handler).apiAddRepo, false},
		{"GET", "/repos/{owner}/{repo}", (*Handler).apiRepo, true},
		{"DELETE", "/repos/{owner}/{repo}", (*Handler).apiRemoveRepo, true},
		{"GET", "/repos/{owner}/{repo}/refs", (*Handler).apiRefs, true},
		{"GET", "/repos/{owner}/{repo}/feeds", (*Handler).apiFeeds, true},
		{"GET", "/repos/{owner}/{repo}/builds", (*Handler).apiBuilds, true},
		{"POST", "/repos/{owner}/{repo}/builds", (*Handler).apiRebuild, true},
		{"GET", "/repos/{owner}/{repo}/builds/{id}", (*Handler).apiBuild, true},
		{"GET", "/repos/{owner}/{repo}/jobs/{id}/log", (*Handler).apiJobLog, true},
		{"GET", "/repos/{owner}/{repo}/jobs/{id}/events", (*Handler).apiJobEvents, true},
		{"GET", "/openapi.yaml", (*Handler).apiSpec, false},
		{"POST", "/admin/gitlab-secrets", (*Handler).apiAddGitLabSecret, false},
		{"GET", "/admin/gitlab-secrets", (*Handler).apiGitLabSecrets, false},
		{"DELETE", "/admin/gitlab-secrets/{id}", (*Handler).apiRemoveGitLabSecret, false},
		{"GET", "/admin/status", (*Handler).apiStatus, false},
	}
}

func (h *Handler) apiRoutes() *http.ServeMux {
	m := http.NewServeMux()
	// Routes are registered by path without a method, so that a path with the wrong method
	// gets a JSON 405 naming the allowed ones instead of the catch-all 404.
	byPath := map[string]map[string]apiRoute{}
	var paths []string
	for _, rt := range apiTable() {
		if byPath[rt.Pattern] == nil {
			byPath[rt.Pattern] = map[string]apiRoute{}
			paths = append(paths, rt.Pattern)
		}
		byPath[rt.Pattern][rt.Method] = rt
	}
	for _, p := range paths {
		methods := byPath[p]
		var allow []string
		for m := range methods {
			allow = append(allow, m)
		}
		slices.Sort(allow)
		m.HandleFunc(apiPrefix+p, func(w http.ResponseWriter, r *http.Request) {
			method := r.Method
			if method == http.MethodHead {
				method = http.MethodGet
			}
			rt, ok := methods[method]
			if !ok {
				w.Header().Set("Allow", strings.Join(allow, ", "))
				apiError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed here; use "+strings.Join(allow, " or "))
				return
			}
			h.serveAPI(w, r, rt)
		})
	}
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		apiError(w, http.StatusNotFound, "not_found", "no API route "+r.Method+" "+r.URL.Path+"; see /api/v1/openapi.yaml")
	})
	return m
}

// serveAPI authenticates the caller, resolves the repository the route names, and runs it.
func (h *Handler) serveAPI(w http.ResponseWriter, r *http.Request, rt apiRoute) {
	user, err := h.apiUser(r)
	if err != nil {
		apiError(w, http.StatusUnauthorized, "unauthorized", err.Error())
		return
	}
	a := access{User: user}
	if rt.NeedsRepo {
		repo, lerr := h.resolveRepo(r, user)
		if lerr != nil {
			h.apiLookupError(w, r, lerr)
			return
		}
		a.Repo = repo
	}
	rt.Handle(h, w, r, a)
}

// apiUser is who calls: the admin token, a session cookie (whose POSTs must carry the CSRF
// token in X-CSRF-Token), or nobody. A bad token is an error, not anonymity, so a script with a
// stale token hears about it.
func (h *Handler) apiUser(r *http.Request) (*User, error) {
	u, ok, err := h.bearerUser(r)
	if err != nil {
		return nil, err
	}
	if ok {
		return &u, nil
	}
	s, ok := h.currentSession(r)
	if !ok {
		return nil, nil
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead && !h.checkCSRF(r, s) {
		return nil, errors.New("a request signed in by cookie must carry the session's CSRF token in " + csrfHeader)
	}
	return &s.User, nil
}

// apiErrorBody is every API error: a stable code and a sentence for people.
type apiErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func apiError(w http.ResponseWriter, status int, code, msg string) {
	var b apiErrorBody
	b.Error.Code, b.Error.Message = code, msg
	writeJSON(w, status, b)
}

func (h *Handler) apiLookupError(w http.ResponseWriter, r *http.Request, e *lookupError) {
	if e.Err != nil {
		h.log.ErrorContext(r.Context(), "api", "path", r.URL.Path, "err", e.Err)
	}
	msg := e.What
	if e.ToDo != "" {
		msg += " " + e.ToDo
	}
	apiError(w, e.Status, e.Code, msg)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// apiRepoJSON is a repository in the API.
type apiRepoJSON struct {
	Owner         string `json:"owner"`
	Name          string `json:"name"`
	Forge         string `json:"forge"`
	DefaultBranch string `json:"default_branch"`
	Private       bool   `json:"private"`
	Disabled      bool   `json:"disabled"`
	WebURL        string `json:"web_url"`
	APIURL        string `json:"api_url"`
	KeyURL        string `json:"key_url"`
}

func (h *Handler) repoJSON(r store.Repository) apiRepoJSON {
	return apiRepoJSON{Owner: r.Owner, Name: r.Name, Forge: r.Forge, DefaultBranch: r.DefaultBranch,
		Private: r.Private, Disabled: r.Disabled, WebURL: h.opt.PublicURL + RepoPath(r),
		APIURL: h.opt.PublicURL + apiRepoPath(r), KeyURL: h.opt.PublicURL + RepoPath(r) + "/-/key.pub"}
}

type apiBuildJSON struct {
	ID       int64         `json:"id"`
	Ref      store.Ref     `json:"ref"`
	Commit   string        `json:"commit"`
	Trigger  store.Trigger `json:"trigger"`
	Actor    string        `json:"actor"`
	Forced   bool          `json:"forced"`
	Status   store.Status  `json:"status"`
	Created  time.Time     `json:"created"`
	Started  *time.Time    `json:"started"`
	Finished *time.Time    `json:"finished"`
	WebURL   string        `json:"web_url"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (h *Handler) buildJSON(repo store.Repository, b store.Build) apiBuildJSON {
	return apiBuildJSON{ID: b.ID, Ref: b.Ref, Commit: b.CommitSHA, Trigger: b.Trigger, Actor: b.Actor, Forced: b.Forced,
		Status: b.Status, Created: b.Created, Started: optTime(b.Started), Finished: optTime(b.Finished),
		WebURL: h.opt.PublicURL + BuildPath(repo, b.ID)}
}

func (h *Handler) apiRepos(w http.ResponseWriter, r *http.Request, a access) {
	q := r.URL.Query()
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			apiError(w, http.StatusBadRequest, "bad_request", "limit must be a whole number from 1 to 100")
			return
		}
		limit = n
	}
	admin := a.User != nil && a.User.Admin()
	// The store leaves private rows out before the limit, so neither the page nor its cursor
	// can name one (a cursor from a filtered row would list them one by one).
	repos, err := h.opt.History.ListRepositories(r.Context(), store.RepositoryQuery{Search: q.Get("search"), After: q.Get("after"), Limit: limit, PublicOnly: !admin})
	if err != nil {
		h.apiInternal(w, r, err)
		return
	}
	out := struct {
		Repositories []apiRepoJSON `json:"repositories"`
		Next         string        `json:"next,omitempty"`
	}{Repositories: []apiRepoJSON{}}
	for _, repo := range repos {
		out.Repositories = append(out.Repositories, h.repoJSON(repo))
	}
	if len(repos) == limit {
		last := repos[len(repos)-1]
		out.Next = store.PathKey(last.Owner, last.Name)
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) apiInternal(w http.ResponseWriter, r *http.Request, err error) {
	h.log.ErrorContext(r.Context(), "api", "path", r.URL.Path, "err", err)
	apiError(w, http.StatusInternalServerError, "internal", "the service could not answer; the error has been logged, try again in a minute")
}

func (h *Handler) apiRepo(w http.ResponseWriter, r *http.Request, a access) {
	out := struct {
		apiRepoJSON
		KeyFingerprint string `json:"key_fingerprint"`
		APKKeyID       string `json:"apk_key_id"` // of the apk key at apk_key_url; "" before its first apk feed
		APKKeyURL      string `json:"apk_key_url"`
	}{apiRepoJSON: h.repoJSON(a.Repo)}
	fp, err := h.opt.Feeds.KeyFingerprint(r.Context(), a.Repo, store.KeyMain)
	if err != nil {
		h.apiInternal(w, r, err)
		return
	}
	apkID, err := h.opt.Feeds.KeyFingerprint(r.Context(), a.Repo, store.KeyAPKMain)
	if err != nil {
		h.apiInternal(w, r, err)
		return
	}
	out.KeyFingerprint, out.APKKeyID = fp, apkID
	out.APKKeyURL = h.opt.PublicURL + RepoPath(a.Repo) + "/-/key.pem"
	writeJSON(w, http.StatusOK, out)
}

type apiFeedJSON struct {
	Series string `json:"series"`
	Arch   string `json:"arch"`
	Format string `json:"format"` // opkg or apk
	URL    string `json:"url"`
	// Line is what a router's feed list gets: the customfeeds.conf line (opkg) or the URL of
	// packages.adb for /etc/apk/repositories.d/customfeeds.list (apk).
	Line     string      `json:"line"`
	KeyURL   string      `json:"key_url"`
	Router   RouterLines `json:"router"` // the shell lines: key, feed, update
	Packages int         `json:"packages"`
	Updated  time.Time   `json:"updated"`
}

// keyIDs looks up a repository's key fingerprints once per kind for one answer; a lookup that
// fails leaves the key line out (the repository answer reports the error).
func (h *Handler) keyIDs(r *http.Request, repo store.Repository) func(store.KeyKind) string {
	seen := map[store.KeyKind]string{}
	return func(kind store.KeyKind) string {
		if id, ok := seen[kind]; ok {
			return id
		}
		id, err := h.opt.Feeds.KeyFingerprint(r.Context(), repo, kind)
		if err != nil {
			h.log.WarnContext(r.Context(), "reading a key fingerprint", "repo", repo.Path(), "kind", kind, "err", err)
		}
		seen[kind] = id
		return id
	}
}

func (h *Handler) feedJSON(repo store.Repository, f Feed, keyID func(store.KeyKind) string) apiFeedJSON {
	u := h.opt.PublicURL + strings.TrimSuffix(FeedPath(repo, f.Ref, f.Series, f.Arch), "/")
	format := cmp.Or(f.Format, FormatOPKG)
	preview := f.Ref.Kind == store.RefPR
	key := "/-/key.pub"
	if format == FormatAPK {
		key = "/-/key.pem"
	}
	if preview {
		key = strings.Replace(key, "key.", "preview-key.", 1)
	}
	out := apiFeedJSON{Series: f.Series, Arch: f.Arch, Format: format, URL: u, Line: "src/gz " + FeedName(repo) + " " + u,
		KeyURL: h.opt.PublicURL + RepoPath(repo) + key, Packages: f.Packages, Updated: f.Updated}
	if format == FormatAPK {
		out.Line = u + "/packages.adb"
	}
	kind := store.KeyMain
	if preview {
		kind = store.KeyPreview
	}
	if format == FormatAPK {
		kind = kind.APK()
	}
	out.Router = Lines(format, repo, h.opt.PublicURL+RepoPath(repo), u, keyID(kind), preview)
	return out
}

// apiRefs lists branches, tags and pull requests with their latest build and feeds.
func (h *Handler) apiRefs(w http.ResponseWriter, r *http.Request, a access) {
	latest, err := h.opt.History.LatestBuilds(r.Context(), a.Repo.ID)
	if err != nil {
		h.apiInternal(w, r, err)
		return
	}
	feeds, err := h.opt.Feeds.Feeds(r.Context(), a.Repo)
	if err != nil {
		h.apiInternal(w, r, err)
		return
	}
	type refJSON struct {
		store.Ref
		LatestBuild *apiBuildJSON `json:"latest_build"`
		Feeds       []apiFeedJSON `json:"feeds"`
	}
	var out struct {
		Refs []*refJSON `json:"refs"`
	}
	out.Refs = []*refJSON{}
	byRef := map[store.Ref]*refJSON{}
	get := func(ref store.Ref) *refJSON {
		if v, ok := byRef[ref]; ok {
			return v
		}
		v := &refJSON{Ref: ref, Feeds: []apiFeedJSON{}}
		byRef[ref] = v
		out.Refs = append(out.Refs, v)
		return v
	}
	for _, b := range latest {
		bj := h.buildJSON(a.Repo, b)
		get(b.Ref).LatestBuild = &bj
	}
	ids := h.keyIDs(r, a.Repo)
	for _, f := range feeds {
		v := get(f.Ref)
		v.Feeds = append(v.Feeds, h.feedJSON(a.Repo, f, ids))
	}
	writeJSON(w, http.StatusOK, out)
}

// apiFeeds lists one ref's feeds (?ref=branch:main, default the default branch) with packages.
func (h *Handler) apiFeeds(w http.ResponseWriter, r *http.Request, a access) {
	ref := store.Ref{Kind: store.RefBranch, Name: a.Repo.DefaultBranch}
	if v := r.URL.Query().Get("ref"); v != "" {
		kind, name, _ := cutRef(v)
		ref = store.Ref{Kind: kind, Name: name}
		if err := ref.Check(); err != nil {
			apiError(w, http.StatusBadRequest, "bad_request", "ref must be branch:NAME, tag:NAME or pr:N")
			return
		}
	}
	feeds, err := h.opt.Feeds.Feeds(r.Context(), a.Repo)
	if err != nil {
		h.apiInternal(w, r, err)
		return
	}
	type pkgJSON struct {
		Name     string    `json:"name"`
		Version  string    `json:"version"`
		Filename string    `json:"filename"`
		URL      string    `json:"url"`
		Size     int64     `json:"size"`
		Modified time.Time `json:"modified"`
	}
	type feedJSON struct {
		apiFeedJSON
		Packages []pkgJSON `json:"package_list"`
	}
	out := struct {
		Ref   store.Ref  `json:"ref"`
		Feeds []feedJSON `json:"feeds"`
	}{Ref: ref, Feeds: []feedJSON{}}
	ids := h.keyIDs(r, a.Repo)
	for _, f := range feeds {
		if f.Ref != ref {
			continue
		}
		pkgs, err := h.opt.Feeds.Packages(r.Context(), a.Repo, ref, f.Series, f.Arch)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			h.apiInternal(w, r, err)
			return
		}
		fj := feedJSON{apiFeedJSON: h.feedJSON(a.Repo, f, ids), Packages: []pkgJSON{}}
		for _, p := range pkgs {
			fj.Packages = append(fj.Packages, pkgJSON{Name: p.Name, Version: p.Version, Filename: p.Filename,
				URL: fj.URL + "/" + p.Filename, Size: p.Size, Modified: p.Modified})
		}
		out.Feeds = append(out.Feeds, fj)
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) apiBuilds(w http.ResponseWriter, r *http.Request, a access) {
	bq, err := buildQuery(r.URL.Query(), a.Repo.ID)
	if err != nil {
		apiError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	builds, err := h.opt.History.ListBuilds(r.Context(), bq)
	if err != nil {
		h.apiInternal(w, r, err)
		return
	}
	out := struct {
		Builds []apiBuildJSON `json:"builds"`
		// NextBefore is the before= of the next page; absent on the last page.
		NextBefore int64 `json:"next_before,omitempty"`
	}{Builds: []apiBuildJSON{}}
	for _, b := range builds {
		out.Builds = append(out.Builds, h.buildJSON(a.Repo, b))
	}
	if len(builds) == bq.Limit {
		out.NextBefore = builds[len(builds)-1].ID
	}
	writeJSON(w, http.StatusOK, out)
}

type apiJobJSON struct {
	ID       int64        `json:"id"`
	Series   string       `json:"series"`
	Arch     string       `json:"arch"`
	Image    string       `json:"image"`
	Status   store.Status `json:"status"`
	Started  *time.Time   `json:"started"`
	Finished *time.Time   `json:"finished"`
	Attempts int          `json:"attempts"`
	Result   *JobResult   `json:"result"`
	LogURL   string       `json:"log_url"`
}

func (h *Handler) apiBuild(w http.ResponseWriter, r *http.Request, a access) {
	b, lerr := h.findBuild(r, a.Repo)
	if lerr != nil {
		h.apiLookupError(w, r, lerr)
		return
	}
	jobs, err := h.opt.History.JobsOfBuild(r.Context(), b.ID)
	if err != nil {
		h.apiInternal(w, r, err)
		return
	}
	out := struct {
		apiBuildJSON
		Jobs []apiJobJSON `json:"jobs"`
	}{apiBuildJSON: h.buildJSON(a.Repo, b), Jobs: []apiJobJSON{}}
	for _, j := range jobs {
		jj := apiJobJSON{ID: j.ID, Series: j.Series, Arch: j.Arch, Image: j.Image, Status: j.Status,
			Started: optTime(j.Started), Finished: optTime(j.Finished), Attempts: j.Attempts,
			LogURL: h.opt.PublicURL + apiRepoPath(a.Repo) + "/jobs/" + strconv.FormatInt(j.ID, 10) + "/log"}
		if res, ok := parseResult(j.Result); ok {
			if res.Packages == nil {
				res.Packages = []PackageResult{}
			}
			jj.Result = &res
		}
		out.Jobs = append(out.Jobs, jj)
	}
	writeJSON(w, http.StatusOK, out)
}

// apiRebuild is POST /repos/{owner}/{repo}/builds {"ref": {"kind": "branch", "name": "main"}}:
// a forced build of the ref at its newest commit. The ref defaults to the default branch.
func (h *Handler) apiRebuild(w http.ResponseWriter, r *http.Request, a access) {
	if a.User == nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="openwrt-ppa"`)
		apiError(w, http.StatusUnauthorized, "unauthorized", "starting a build needs the admin token (Authorization: Bearer …) or a signed-in session with write access")
		return
	}
	var body struct {
		Ref *store.Ref `json:"ref"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil && !errors.Is(err, io.EOF) {
		apiError(w, http.StatusBadRequest, "bad_request", "the body must be JSON like {\"ref\": {\"kind\": \"branch\", \"name\": \"main\"}}: "+err.Error())
		return
	}
	ref := store.Ref{Kind: store.RefBranch, Name: a.Repo.DefaultBranch}
	if body.Ref != nil {
		ref = *body.Ref
	}
	id, lerr := h.rebuild(r, a.Repo, a.User, ref)
	if lerr != nil {
		h.apiLookupError(w, r, lerr)
		return
	}
	b, err := h.opt.History.Build(r.Context(), id)
	if err != nil {
		h.apiInternal(w, r, err)
		return
	}
	w.Header().Set("Location", h.opt.PublicURL+apiRepoPath(a.Repo)+"/builds/"+strconv.FormatInt(id, 10))
	writeJSON(w, http.StatusCreated, h.buildJSON(a.Repo, b))
}

// apiJob reads the {id} job and checks it belongs to a build of the repository.
func (h *Handler) apiJob(w http.ResponseWriter, r *http.Request, a access) (store.Job, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	nf := "repository " + a.Repo.Path() + " has no job " + r.PathValue("id")
	if err != nil || id <= 0 {
		apiError(w, http.StatusNotFound, "not_found", nf)
		return store.Job{}, false
	}
	j, err := h.opt.History.Job(r.Context(), id)
	if err == nil {
		var b store.Build
		if b, err = h.opt.History.Build(r.Context(), j.BuildID); err == nil && b.RepoID != a.Repo.ID {
			err = store.ErrNotFound
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		apiError(w, http.StatusNotFound, "not_found", nf)
		return store.Job{}, false
	}
	if err != nil {
		h.apiInternal(w, r, err)
		return store.Job{}, false
	}
	return j, true
}

func (h *Handler) apiJobLog(w http.ResponseWriter, r *http.Request, a access) {
	j, ok := h.apiJob(w, r, a)
	if !ok {
		return
	}
	err := h.serveLogText(w, r, j)
	if errors.Is(err, errNoLog) {
		apiError(w, http.StatusNotFound, "no_log", errNoLog.Error()+"; a running job's lines are at the events URL")
		return
	}
	if err != nil {
		h.apiInternal(w, r, err)
	}
}

func (h *Handler) apiJobEvents(w http.ResponseWriter, r *http.Request, a access) {
	j, ok := h.apiJob(w, r, a)
	if !ok {
		return
	}
	h.streamLog(w, r, j)
}
