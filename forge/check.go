package forge

// CheckState is where a job's check stands. The drivers map it to the forge's words.
type CheckState string

// A job's life: queued → in_progress → one of the final states.
const (
	CheckQueued     CheckState = "queued"
	CheckInProgress CheckState = "in_progress"
	CheckSuccess    CheckState = "success"
	CheckFailure    CheckState = "failure"
	CheckCancelled  CheckState = "cancelled"
	CheckTimedOut   CheckState = "timed_out"
)

// Final reports whether s ends the check.
func (s CheckState) Final() bool {
	switch s {
	case CheckSuccess, CheckFailure, CheckCancelled, CheckTimedOut:
		return true
	}
	return false
}

// Valid reports whether s is one of the states above.
func (s CheckState) Valid() bool {
	return s == CheckQueued || s == CheckInProgress || s.Final()
}

// ActionRebuild is the identifier of the "Rebuild" button a failed GitHub check offers; a
// check_run requested_action with it becomes KindCheckRerun.
const ActionRebuild = "rebuild"

// Check is one job's report: one check per <series>/<arch> and commit.
type Check struct {
	ID    string     // from the previous ReportCheck; empty creates the check
	Name  string     // "openwrt-ppa: 24.10/x86_64"
	SHA   string     // the commit
	Ref   string     // full ref; GitLab attaches the status to it
	State CheckState //
	Title string     // one line: "3 packages built", "queued"
	// Summary is Markdown shown on the check. Build it with Summary (it fits GitHub's limit);
	// drivers truncate whatever they get to the forge's limit.
	Summary    string
	DetailsURL string // the build page
	FeedURL    string // the feed the job publishes to
	ExternalID string // the job id; comes back in CheckRef.ExternalID on a re-run
	// Annotations point at lines (a Makefile error); GitHub takes 50 a request, the driver
	// sends them in batches. GitLab statuses have none.
	Annotations []Annotation
}

// Annotation marks a line of a file in the repository.
type Annotation struct {
	Path      string
	StartLine int
	EndLine   int
	Level     string // notice, warning or failure
	Message   string
	Title     string
}

// Reaction is an emoji reaction on a comment.
type Reaction string

// Reactions the service uses: seen (eyes), accepted (+1), refused (-1). Each forge names its
// emoji differently; drivers translate.
const (
	ReactionEyes     Reaction = "eyes"
	ReactionThumbsUp Reaction = "+1"
	ReactionConfused Reaction = "confused"
)
