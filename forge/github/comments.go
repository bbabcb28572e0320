package github

import (
	"context"
	"fmt"

	gh "github.com/google/go-github/v88/github"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
)

// maxComment is GitHub's limit on a comment body, in characters.
const maxComment = 65536

// Reply comments on pull request number.
func (c *Client) Reply(ctx context.Context, repo forge.Repo, number int, body string) error {
	cl, err := c.installation(ctx, repo)
	if err != nil {
		return err
	}
	comment := &gh.IssueComment{Body: gh.Ptr(forge.Truncate(body, maxComment))}
	err = c.do(ctx, "create comment", func() (*gh.Response, error) {
		_, resp, err := cl.Issues.CreateComment(ctx, repo.Owner, repo.Name, number, comment)
		return resp, err
	})
	if err != nil {
		return fmt.Errorf("github: replying on %s#%d: %w", repo.FullName(), number, err)
	}
	return nil
}

// React adds a reaction to an issue comment (pull request comments are issue comments).
func (c *Client) React(ctx context.Context, repo forge.Repo, ref forge.CommentRef, r forge.Reaction) error {
	cl, err := c.installation(ctx, repo)
	if err != nil {
		return err
	}
	// GitHub's names are the neutral ones: +1, -1, laugh, confused, heart, hooray, rocket, eyes.
	err = c.do(ctx, "create reaction", func() (*gh.Response, error) {
		_, resp, err := cl.Reactions.CreateIssueCommentReaction(ctx, repo.Owner, repo.Name, ref.ID, string(r))
		return resp, err
	})
	if err != nil {
		return fmt.Errorf("github: reacting to comment %d on %s: %w", ref.ID, repo.FullName(), err)
	}
	return nil
}
