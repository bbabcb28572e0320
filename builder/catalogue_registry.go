package builder

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// CatalogueRefresh is how often the service asks the registry for new point releases.
const CatalogueRefresh = 24 * time.Hour

// CatalogueRetry is how soon a failed refresh is tried again; each further failure waits twice
// as long, up to the refresh interval. Without it a registry that is unreachable when the
// service starts (the network not up yet) would leave the embedded table in use for a day.
const CatalogueRetry = time.Minute

// CatalogueFirstWait bounds how long planning waits for the registry's first answer once the
// refresh has started: the embedded table's release may be missing from a mirror, so jobs planned
// before the answer would fail to pull, yet a registry that hangs must not hold builds up for long.
const CatalogueFirstWait = 30 * time.Second

// TagLister lists the tags of an image repository ("ghcr.io/openwrt/sdk").
type TagLister interface {
	ListTags(ctx context.Context, repo string) ([]string, error)
}

// RegistryTags lists tags with the OCI distribution API (GET /v2/<name>/tags/list, paged),
// anonymously, through the registry's bearer-token flow (ghcr.io answers 401 with a token realm
// even for public images); go-containerregistry does the flow. No credential is ever sent:
// the SDK images are public.
type RegistryTags struct{}

// ListTags implements TagLister.
func (RegistryTags) ListTags(ctx context.Context, repo string) ([]string, error) {
	r, err := name.NewRepository(repo)
	if err != nil {
		return nil, fmt.Errorf("SDK image repository %q: %w", repo, err)
	}
	tags, err := remote.List(r, remote.WithContext(ctx), remote.WithAuth(authn.Anonymous))
	if err != nil {
		return nil, fmt.Errorf("listing the tags of %s: %w", repo, err)
	}
	return tags, nil
}

// releaseTagRe matches "<name>-<X.Y.Z>" and "<name>-v<X.Y.Z>", the tags of a point release
// (release candidates and branch tags are left out).
var releaseTagRe = regexp.MustCompile(`^([A-Za-z0-9_.-]+?)-v?([0-9]{1,4})\.([0-9]{1,4})\.([0-9]{1,4})$`)

// parseReleaseTag splits a release tag into its image name (an arch or "<target>-<subtarget>"),
// its series ("24.10") and its point release ("24.10.6").
func parseReleaseTag(tag string) (image, series, release string, ok bool) {
	m := releaseTagRe.FindStringSubmatch(tag)
	if m == nil {
		return "", "", "", false
	}
	n := make([]int, 3)
	for i := range n {
		n[i], _ = strconv.Atoi(m[2+i])
	}
	return m[1], fmt.Sprintf("%02d.%02d", n[0], n[1]), fmt.Sprintf("%02d.%02d.%d", n[0], n[1], n[2]), true
}

// newerRelease reports whether point release a ("24.10.10") is newer than b ("24.10.9").
func newerRelease(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		x, _ := strconv.Atoi(pa[i])
		y, _ := strconv.Atoi(pb[i])
		if x != y {
			return x > y
		}
	}
	return len(pa) > len(pb)
}

// WithTags returns a copy of c in which each (series, arch) uses the newest point release the
// registry has an "<arch>-<X.Y.Z>" (or "-v<X.Y.Z>") tag for. An arch without such a tag keeps the
// table's release; snapshot-like series (a fixed tag suffix) are left alone.
func (c *Catalogue) WithTags(tags []string) *Catalogue {
	out := *c
	out.Series = make(map[string]SeriesInfo, len(c.Series))
	archs := map[string]map[string]bool{}
	for s, info := range c.Series {
		info.releases = maps.Clone(info.releases)
		if info.releases == nil {
			info.releases = map[string]arcRelease{}
		}
		out.Series[s] = info
		archs[s] = map[string]bool{}
		for _, a := range c.ArchsOf(s) {
			archs[s][a] = true
		}
	}
	for _, tag := range tags {
		img, series, release, ok := parseReleaseTag(tag)
		if !ok || !archs[series][img] || c.Series[series].TagSuffix != nil {
			continue
		}
		info := out.Series[series]
		cur, seen := info.releases[img]
		// Both "-X.Y.Z" and "-vX.Y.Z" name a release; the plain one is taken when both exist.
		if !seen || newerRelease(release, cur.release) || release == cur.release && !strings.Contains(tag, "-v") {
			info.releases[img] = arcRelease{release: release, tag: tag}
		}
	}
	return &out
}

// Releases lists the point releases in use for series (one per arch that the registry had), or
// the table's release; for status pages.
func (c *Catalogue) Releases(series string) []string {
	info := c.Series[series]
	seen := map[string]bool{info.Release: len(info.releases) < len(c.ArchsOf(series))}
	for _, r := range info.releases {
		seen[r.release] = true
	}
	var out []string
	for r, used := range seen {
		if used {
			out = append(out, r)
		}
	}
	sort.Strings(out)
	return out
}

// CatalogueSource keeps the SDK catalogue current by itself: Refresh asks the registry for the
// image's tags and switches to the newest point release of each series; when the registry cannot
// be reached the catalogue stays as it was (at first the embedded table). Safe for concurrent use.
type CatalogueSource struct {
	base   *Catalogue
	repo   string
	lister TagLister
	log    *slog.Logger

	cur atomic.Pointer[Catalogue]

	// firstRetry is how soon Run asks again after a failure (doubling up to the interval);
	// a field so that tests need not wait a minute.
	firstRetry time.Duration

	// FirstWait is how long Current waits for the first refresh's answer after AwaitFirst
	// (CatalogueFirstWait by default; 0: not at all). Set it before Run.
	FirstWait time.Duration

	// answered is closed by the first refresh that answers (success or failure) or when Run ends.
	answered   chan struct{}
	answerOnce sync.Once

	mu        sync.Mutex
	lastErr   error
	lastOK    time.Time
	waitUntil time.Time // zero until AwaitFirst: a source nobody refreshes never makes planning wait
}

// NewCatalogueSource returns a source that starts with base and refreshes from repo (the
// catalogue's registry when empty; a mirror otherwise) through lister (RegistryTags{} when nil).
func NewCatalogueSource(base *Catalogue, repo string, lister TagLister, log *slog.Logger) *CatalogueSource {
	if repo == "" {
		repo = base.Registry
	}
	if lister == nil {
		lister = RegistryTags{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &CatalogueSource{base: base, repo: strings.TrimSuffix(repo, "/"), lister: lister, log: log, firstRetry: CatalogueRetry,
		FirstWait: CatalogueFirstWait, answered: make(chan struct{})}
	s.cur.Store(base)
	return s
}

// Current is the catalogue to plan with now. Between AwaitFirst and the first refresh's answer it
// waits for that answer, at most FirstWait after AwaitFirst; then it is whatever is in use.
func (s *CatalogueSource) Current() *Catalogue {
	select {
	case <-s.answered:
		return s.cur.Load()
	default:
	}
	s.mu.Lock()
	until := s.waitUntil
	s.mu.Unlock()
	if d := time.Until(until); !until.IsZero() && d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-s.answered:
		case <-t.C:
		}
	}
	return s.cur.Load()
}

// AwaitFirst makes Current wait for the first refresh's answer, at most FirstWait from now. Run
// calls it; a caller that starts Run in a goroutine calls it before, so that planning started
// alongside waits too. Calling it again does not move the bound.
func (s *CatalogueSource) AwaitFirst() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.waitUntil.IsZero() {
		s.waitUntil = time.Now().Add(s.FirstWait)
	}
}

func (s *CatalogueSource) markAnswered() { s.answerOnce.Do(func() { close(s.answered) }) }

// CatalogueStatus is what a status page shows of the refresh.
type CatalogueStatus struct {
	LastOK   time.Time // when the registry last answered; zero: not yet
	Err      error     // why the last refresh failed and what to do; nil after a success or before any refresh
	InUse    string    // "embedded table" or "last answer of <RFC 3339 time>"
	Releases string    // the point releases planned with, per series ("24.10=24.10.6 25.12=25.12.0")
}

// catalogueAdvice says what to do about a failed refresh, in the log and on status pages.
const catalogueAdvice = "let the service reach the registry, point it at a mirror (--registry), or turn the refresh off (--catalogue-refresh=0)"

// Status reports the last refresh's outcome and what is planned with now. Its Err ends with what
// to do, since a status page, unlike the log line, has nothing else to say it.
func (s *CatalogueSource) Status() CatalogueStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.lastErr
	if err != nil {
		err = fmt.Errorf("%w; %s", err, catalogueAdvice)
	}
	return CatalogueStatus{LastOK: s.lastOK, Err: err, InUse: s.inUse(), Releases: s.releasesInUse()}
}

// inUse names the table planned with now; s.mu is held.
func (s *CatalogueSource) inUse() string {
	if s.lastOK.IsZero() {
		return "embedded table"
	}
	return "last answer of " + s.lastOK.UTC().Format(time.RFC3339)
}

// Refresh asks the registry once. On failure the current catalogue stays and the error says why.
// A refresh cut short by ctx's cancellation (shutdown) is not a failure: it returns ctx's error
// and neither logs nor records one.
func (s *CatalogueSource) Refresh(ctx context.Context) error {
	tags, err := s.lister.ListTags(ctx, s.repo)
	if err != nil && errors.Is(ctx.Err(), context.Canceled) {
		return ctx.Err()
	}
	if err == nil && len(tags) == 0 {
		err = errors.New("the registry lists no tags")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.markAnswered()
	if err != nil {
		s.lastErr = fmt.Errorf("SDK catalogue not refreshed, keeping the releases in use: %w", err)
		s.log.Warn("SDK catalogue refresh failed: planning with the point releases in use until the registry answers; "+catalogueAdvice,
			"repository", s.repo, "in_use", s.inUse(), "releases", s.releasesInUse(), "err", err)
		return s.lastErr
	}
	next := s.base.WithTags(tags)
	s.cur.Store(next)
	s.lastErr, s.lastOK = nil, time.Now()
	for _, series := range next.SeriesNames() {
		s.log.Info("SDK catalogue refreshed", "repository", s.repo, "series", series, "releases", strings.Join(next.Releases(series), ","))
	}
	return nil
}

// releasesInUse names the point releases planned with now, per series ("24.10=24.10.4 25.12=25.12.0").
// It does not wait for the first answer (Current would, and Refresh calls it holding s.mu).
func (s *CatalogueSource) releasesInUse() string {
	cur := s.cur.Load()
	var out []string
	for _, series := range cur.SeriesNames() {
		if rs := cur.Releases(series); len(rs) > 0 {
			out = append(out, series+"="+strings.Join(rs, ","))
		}
	}
	return strings.Join(out, " ")
}

// Run refreshes now and then every interval (CatalogueRefresh when 0) until ctx ends. A failed
// refresh is tried again soon (CatalogueRetry, doubling up to interval), not an interval later.
// Planning waits for the first answer (see AwaitFirst), and no longer once Run has ended.
func (s *CatalogueSource) Run(ctx context.Context, interval time.Duration) {
	s.AwaitFirst()
	defer s.markAnswered()
	if interval <= 0 {
		interval = CatalogueRefresh
	}
	var retry time.Duration
	for {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		err := s.Refresh(rctx)
		cancel()
		wait := interval
		if err != nil {
			retry = nextRetry(retry, s.firstRetry, interval)
			wait = retry
		} else {
			retry = 0
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// nextRetry is the wait after a failure that followed a wait of prev (0: the first failure):
// first, then twice the last, never more than limit.
func nextRetry(prev, first, limit time.Duration) time.Duration {
	next := first
	if prev > 0 {
		next = 2 * prev
	}
	return min(next, limit)
}

// CatalogueProvider gives the catalogue to plan with now: a *Catalogue is its own (a fixed
// table), a *CatalogueSource follows the registry.
type CatalogueProvider interface {
	Current() *Catalogue
}

// Current implements CatalogueProvider: a table never changes.
func (c *Catalogue) Current() *Catalogue { return c }

// ReleaseOfImage is the point release an SDK image reference names by its tag
// ("ghcr.io/openwrt/sdk:x86_64-v24.10.6" → "24.10.6"), or "" for a tag that names none (a
// snapshot, or an image given with --image).
func ReleaseOfImage(ref string) string {
	i := strings.LastIndexAny(ref, ":/")
	if i < 0 || ref[i] != ':' {
		return ""
	}
	_, _, release, ok := parseReleaseTag(ref[i+1:])
	if !ok {
		return ""
	}
	return release
}
