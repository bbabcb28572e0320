package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

type buildsData struct {
	Repo       store.Repository
	Builds     []store.Build
	Filter     store.BuildQuery
	RefParam   string
	NextURL    string
	Statuses   []store.Status
	Triggers   []store.Trigger
	RepoPath   string
	BuildsPath string
}

var allStatuses = []store.Status{store.StatusQueued, store.StatusRunning, store.StatusSuccess, store.StatusFailure,
	store.StatusCancelled, store.StatusTimedOut, store.StatusSkipped}

var allTriggers = []store.Trigger{store.TriggerPush, store.TriggerTag, store.TriggerComment, store.TriggerRerun, store.TriggerAPI}

// buildQuery reads the list filters shared by the builds page and the API: ref (kind:name, or a
// kind alone), status, trigger, before, limit.
func buildQuery(q url.Values, repoID int64) (store.BuildQuery, error) {
	bq := store.BuildQuery{RepoID: repoID, Limit: 50}
	if v := q.Get("ref"); v != "" {
		kind, name, _ := cutRef(v)
		bq.Ref = store.Ref{Kind: kind, Name: name}
		if kind != store.RefBranch && kind != store.RefTag && kind != store.RefPR {
			return bq, errors.New("ref must be branch:NAME, tag:NAME, pr:N or a kind alone (branch, tag, pr)")
		}
	}
	if v := store.Status(q.Get("status")); v != "" {
		if !slices.Contains(allStatuses, v) {
			return bq, errors.New("status must be one of queued, running, success, failure, cancelled, timed_out, skipped")
		}
		bq.Status = v
	}
	if v := store.Trigger(q.Get("trigger")); v != "" {
		if !slices.Contains(allTriggers, v) {
			return bq, errors.New("trigger must be one of push, tag, comment, rerun, api")
		}
		bq.Trigger = v
	}
	for _, p := range []struct {
		name string
		dst  func(int64)
		max  int64
	}{
		{"before", func(n int64) { bq.Before = n }, 1 << 62},
		{"limit", func(n int64) { bq.Limit = int(n) }, 100},
	} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1 || n > p.max {
				return bq, errors.New(p.name + " must be a whole number from 1 to " + strconv.FormatInt(p.max, 10))
			}
			p.dst(n)
		}
	}
	return bq, nil
}

// cutRef splits "branch:main" (or a bare kind "pr") into kind and name.
func cutRef(s string) (store.RefKind, string, bool) {
	k, n, ok := strings.Cut(s, ":")
	return store.RefKind(k), n, ok
}

// buildsPage is /<owner>/<repo>/-/builds: history, newest first, with filters and paging.
func (h *Handler) buildsPage(w http.ResponseWriter, r *http.Request) {
	a, ok := h.pageRepo(w, r)
	if !ok {
		return
	}
	bq, err := buildQuery(r.URL.Query(), a.Repo.ID)
	if err != nil {
		h.errorPage(w, r, http.StatusBadRequest, "Bad filter", err.Error()+".", "Fix the address, or use the filter form.")
		return
	}
	builds, err := h.opt.History.ListBuilds(r.Context(), bq)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	d := buildsData{Repo: a.Repo, Builds: builds, Filter: bq, RefParam: r.URL.Query().Get("ref"),
		Statuses: allStatuses, Triggers: allTriggers, RepoPath: RepoPath(a.Repo), BuildsPath: RepoPath(a.Repo) + "/-/builds"}
	if len(builds) == bq.Limit {
		q := r.URL.Query()
		q.Set("before", strconv.FormatInt(builds[len(builds)-1].ID, 10))
		d.NextURL = d.BuildsPath + "?" + q.Encode()
	}
	h.render(w, r, http.StatusOK, "builds", "Builds of "+a.Repo.Path(), d)
}

// jobView is a job with its parsed result.
type jobView struct {
	store.Job
	Result    JobResult
	HasResult bool
	Duration  string
	Release   string // the point release of the SDK that built it, when its image names one
}

type matrixRow struct {
	Series string
	Cells  []*jobView // one per arch of buildData.Archs; nil where the matrix has a hole
}

type buildData struct {
	Repo       store.Repository
	Build      store.Build
	Duration   string
	Jobs       []jobView
	Archs      []string
	Matrix     []matrixRow
	Log        *logView
	CanRebuild bool
	NeedSignIn bool
	RebuildURL string
	RepoPath   string
}

// logView is the log shown on a build page: one job's, live or finished.
type logView struct {
	Job       jobView
	Live      bool   // the job is pending: the page follows the log over SSE
	EventsURL string // SSE
	PlainURL  string // the whole log as text
	Text      string // the log's tail for a finished job
	Truncated bool   // Text is the tail of a longer log
	Missing   string // why there is no log to show
}

// buildPage is /<owner>/<repo>/-/builds/<id>: the matrix, packages, durations and a job's log.
func (h *Handler) buildPage(w http.ResponseWriter, r *http.Request) {
	a, ok := h.pageRepo(w, r)
	if !ok {
		return
	}
	b, lerr := h.findBuild(r, a.Repo)
	if lerr != nil {
		h.errorPage(w, r, lerr.Status, "Build not found", lerr.What, lerr.ToDo)
		return
	}
	jobs, err := h.opt.History.JobsOfBuild(r.Context(), b.ID)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	d := buildData{Repo: a.Repo, Build: b, Duration: duration(b.Started, b.Finished), RepoPath: RepoPath(a.Repo),
		RebuildURL: BuildPath(a.Repo, b.ID) + "/rebuild"}
	for _, j := range jobs {
		jv := jobView{Job: j, Duration: duration(j.Started, j.Finished), Release: builder.ReleaseOfImage(j.Image)}
		jv.Result, jv.HasResult = parseResult(j.Result)
		d.Jobs = append(d.Jobs, jv)
		if !slices.Contains(d.Archs, j.Arch) {
			d.Archs = append(d.Archs, j.Arch)
		}
	}
	slices.Sort(d.Archs)
	for i := range d.Jobs {
		j := &d.Jobs[i]
		ri := slices.IndexFunc(d.Matrix, func(m matrixRow) bool { return m.Series == j.Series })
		if ri < 0 {
			d.Matrix = append(d.Matrix, matrixRow{Series: j.Series, Cells: make([]*jobView, len(d.Archs))})
			ri = len(d.Matrix) - 1
		}
		d.Matrix[ri].Cells[slices.Index(d.Archs, j.Arch)] = j
	}
	slices.SortFunc(d.Matrix, func(x, y matrixRow) int { return strings.Compare(x.Series, y.Series) })
	if sel := h.selectJob(r, d.Jobs); sel != nil {
		d.Log = h.logView(r, a.Repo, *sel)
	}
	if a.User != nil {
		d.CanRebuild, err = h.may(r, a.Repo, a.User, askWrite)
		if err != nil {
			h.log.WarnContext(r.Context(), "asking the forge for write access", "repo", a.Repo.Path(), "err", err)
		}
	}
	d.CanRebuild = d.CanRebuild && h.opt.Rebuilder != nil
	d.NeedSignIn = a.User == nil && len(h.oauth) > 0
	h.render(w, r, http.StatusOK, "build", "Build "+strconv.FormatInt(b.ID, 10)+" of "+a.Repo.Path(), d)
}

// findBuild reads the {id} build and checks it belongs to the repository.
func (h *Handler) findBuild(r *http.Request, repo store.Repository) (store.Build, *lookupError) {
	nf := &lookupError{Status: http.StatusNotFound, Code: "not_found",
		What: "Repository " + repo.Path() + " has no build " + r.PathValue("id") + ".",
		ToDo: "Pick a build from the repository's build history."}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return store.Build{}, nf
	}
	b, err := h.opt.History.Build(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) || err == nil && b.RepoID != repo.ID {
		return store.Build{}, nf
	}
	if err != nil {
		h.log.ErrorContext(r.Context(), "reading build", "id", id, "err", err)
		return store.Build{}, &lookupError{Status: http.StatusInternalServerError, Code: "internal",
			What: "The service could not read the build.", ToDo: "Try again in a minute.", Err: err}
	}
	return b, nil
}

// selectJob is the job whose log the page shows: ?job=<id>, else the first running job, else the
// first failed one, else the first.
func (h *Handler) selectJob(r *http.Request, jobs []jobView) *jobView {
	if len(jobs) == 0 {
		return nil
	}
	if id, err := strconv.ParseInt(r.URL.Query().Get("job"), 10, 64); err == nil {
		for i := range jobs {
			if jobs[i].ID == id {
				return &jobs[i]
			}
		}
	}
	for _, want := range []store.Status{store.StatusRunning, store.StatusFailure, store.StatusTimedOut} {
		for i := range jobs {
			if jobs[i].Status == want {
				return &jobs[i]
			}
		}
	}
	return &jobs[0]
}

// logTail is how much of a finished job's log the build page shows inline; the whole log is a
// link away.
const logTail = 256 << 10

func (h *Handler) logView(r *http.Request, repo store.Repository, j jobView) *logView {
	api := apiRepoPath(repo) + "/jobs/" + strconv.FormatInt(j.ID, 10)
	v := &logView{Job: j, EventsURL: api + "/events", PlainURL: api + "/log"}
	if j.Status.Pending() && h.opt.Logs != nil {
		v.Live = true
		return v
	}
	text, truncated, err := h.readLogTail(j.Job, logTail)
	switch {
	case err == nil:
		v.Text, v.Truncated = text, truncated
	case errors.Is(err, errNoLog):
		v.Missing = err.Error()
	default:
		h.log.WarnContext(r.Context(), "reading job log", "job", j.ID, "err", err)
		v.Missing = "The log could not be read; the error has been logged."
	}
	return v
}
