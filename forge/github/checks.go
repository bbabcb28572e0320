package github

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	gh "github.com/google/go-github/v88/github"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
)

// maxAnnotations is how many annotations GitHub takes in one request.
const maxAnnotations = 50

// ReportCheck creates or updates the check run for one job. Completed states set the
// conclusion and completed_at; failed ones offer a "Rebuild" button (ActionRebuild). More than
// 50 annotations go out in further updates of 50, as GitHub asks.
func (c *Client) ReportCheck(ctx context.Context, repo forge.Repo, chk forge.Check) (string, error) {
	if !chk.State.Valid() {
		return "", fmt.Errorf("github: check %q: unknown state %q", chk.Name, chk.State)
	}
	cl, err := c.installation(ctx, repo)
	if err != nil {
		return "", err
	}
	status, conclusion := checkStatus(chk.State)
	out := c.output(chk, firstBatch(chk.Annotations))
	var actions []*gh.CheckRunAction
	if chk.State == forge.CheckFailure || chk.State == forge.CheckTimedOut || chk.State == forge.CheckCancelled {
		actions = []*gh.CheckRunAction{{Label: "Rebuild", Description: "Build this job again", Identifier: forge.ActionRebuild}}
	}
	now := &gh.Timestamp{Time: c.now().UTC()}
	var completedAt *gh.Timestamp
	if conclusion != nil {
		completedAt = now
	}
	var run *gh.CheckRun
	if chk.ID == "" {
		opts := gh.CreateCheckRunOptions{
			Name:        chk.Name,
			HeadSHA:     chk.SHA,
			DetailsURL:  optional(chk.DetailsURL),
			ExternalID:  optional(chk.ExternalID),
			Status:      &status,
			Conclusion:  conclusion,
			CompletedAt: completedAt,
			Output:      out,
			Actions:     actions,
		}
		if chk.State == forge.CheckInProgress {
			opts.StartedAt = now
		}
		err = c.do(ctx, "create check run", func() (*gh.Response, error) {
			var resp *gh.Response
			var err error
			run, resp, err = cl.Checks.CreateCheckRun(ctx, repo.Owner, repo.Name, opts)
			return resp, err
		})
	} else {
		id, perr := strconv.ParseInt(chk.ID, 10, 64)
		if perr != nil {
			return "", fmt.Errorf("github: check id %q is no check run id: %w", chk.ID, perr)
		}
		opts := gh.UpdateCheckRunOptions{
			Name:        chk.Name,
			DetailsURL:  optional(chk.DetailsURL),
			ExternalID:  optional(chk.ExternalID),
			Status:      &status,
			Conclusion:  conclusion,
			CompletedAt: completedAt,
			Output:      out,
			Actions:     actions,
		}
		err = c.update(ctx, cl, repo, id, opts, &run)
	}
	if err != nil {
		return "", fmt.Errorf("github: reporting check %q on %s@%s: %w", chk.Name, repo.FullName(), short(chk.SHA), err)
	}
	id := run.GetID()
	// Annotations past the first 50, in batches: each update appends to the run's list.
	for rest := chk.Annotations[len(firstBatch(chk.Annotations)):]; len(rest) > 0; {
		batch := rest[:min(len(rest), maxAnnotations)]
		rest = rest[len(batch):]
		opts := gh.UpdateCheckRunOptions{Name: chk.Name, Output: c.output(chk, batch)}
		if err := c.update(ctx, cl, repo, id, opts, nil); err != nil {
			return "", fmt.Errorf("github: adding annotations to check %q: %w", chk.Name, err)
		}
	}
	return strconv.FormatInt(id, 10), nil
}

func (c *Client) update(ctx context.Context, cl *gh.Client, repo forge.Repo, id int64, opts gh.UpdateCheckRunOptions, run **gh.CheckRun) error {
	return c.do(ctx, "update check run", func() (*gh.Response, error) {
		r, resp, err := cl.Checks.UpdateCheckRun(ctx, repo.Owner, repo.Name, id, opts)
		if run != nil {
			*run = r
		}
		return resp, err
	})
}

// checkStatus maps a job state to GitHub's status and conclusion.
func checkStatus(s forge.CheckState) (status string, conclusion *string) {
	switch s {
	case forge.CheckQueued:
		return "queued", nil
	case forge.CheckInProgress:
		return "in_progress", nil
	}
	c := map[forge.CheckState]string{
		forge.CheckSuccess:   "success",
		forge.CheckFailure:   "failure",
		forge.CheckCancelled: "cancelled",
		forge.CheckTimedOut:  "timed_out",
	}[s]
	return "completed", &c
}

// output builds the check's output: title and summary (GitHub requires both), cut to GitHub's
// limits.
func (c *Client) output(chk forge.Check, anns []forge.Annotation) *gh.CheckRunOutput {
	title := chk.Title
	if title == "" {
		title = string(chk.State)
	}
	summary := chk.Summary
	if summary == "" {
		summary = title
	}
	// The feed link must survive whatever the caller wrote, and the cut: it goes first.
	if chk.FeedURL != "" && !strings.Contains(summary, chk.FeedURL) {
		summary = fmt.Sprintf("Feed: %s\n\n%s", chk.FeedURL, summary)
	}
	out := &gh.CheckRunOutput{
		Title:   gh.Ptr(forge.Truncate(title, 255)),
		Summary: gh.Ptr(forge.Truncate(summary, forge.MaxSummary)),
	}
	for _, a := range anns {
		level := a.Level
		if level != "notice" && level != "warning" && level != "failure" {
			level = "failure"
		}
		end := max(a.EndLine, a.StartLine)
		out.Annotations = append(out.Annotations, &gh.CheckRunAnnotation{
			Path:            gh.Ptr(a.Path),
			StartLine:       gh.Ptr(max(a.StartLine, 1)),
			EndLine:         gh.Ptr(max(end, 1)),
			AnnotationLevel: gh.Ptr(level),
			Message:         gh.Ptr(forge.Truncate(a.Message, 64<<10)),
			Title:           optional(forge.Truncate(a.Title, 255)),
		})
	}
	return out
}

func firstBatch(a []forge.Annotation) []forge.Annotation { return a[:min(len(a), maxAnnotations)] }

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func short(sha string) string { return sha[:min(len(sha), 12)] }
