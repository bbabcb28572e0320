package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	gh "github.com/google/go-github/v88/github"
)

// Retry says how calls are retried on GitHub's secondary rate limits and passing 5xx answers.
type Retry struct {
	Attempts int           // tries in all; 0 means 5
	Base     time.Duration // first wait when GitHub gives no Retry-After; 0 means 1 s
	Max      time.Duration // longest single wait; 0 means 60 s
}

func (r Retry) orDefault() Retry {
	if r.Attempts <= 0 {
		r.Attempts = 5
	}
	if r.Base <= 0 {
		r.Base = time.Second
	}
	if r.Max <= 0 {
		r.Max = time.Minute
	}
	return r
}

// do runs call, retrying with backoff while GitHub answers with a secondary rate limit (403/429
// with its documentation URL, honouring Retry-After) or a 502/503/504. A primary rate limit is
// not waited out: its reset can be an hour away, so the error goes back to the caller.
func (c *Client) do(ctx context.Context, what string, call func() (*gh.Response, error)) error {
	wait := c.retry.Base
	for attempt := 1; ; attempt++ {
		resp, err := call()
		if err == nil {
			return nil
		}
		delay, retryable := c.retryDelay(resp, err, wait)
		if !retryable || attempt >= c.retry.Attempts {
			return err
		}
		c.log.Warn("github: retrying", "call", what, "attempt", attempt, "wait", delay, "err", err)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (gave up waiting to retry: %w)", err, ctx.Err())
		case <-t.C:
		}
		wait = min(wait*2, c.retry.Max)
	}
}

func (c *Client) retryDelay(resp *gh.Response, err error, backoff time.Duration) (time.Duration, bool) {
	if abuse, ok := errors.AsType[*gh.AbuseRateLimitError](err); ok {
		if abuse.RetryAfter != nil && *abuse.RetryAfter > 0 {
			return min(*abuse.RetryAfter, c.retry.Max), true
		}
		return backoff, true
	}
	if resp != nil {
		switch resp.StatusCode {
		case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return backoff, true
		}
	}
	return 0, false
}

// notFound reports whether err is GitHub's 404.
func notFound(resp *gh.Response, err error) bool {
	if resp != nil && resp.StatusCode == http.StatusNotFound {
		return true
	}
	var er *gh.ErrorResponse
	return errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusNotFound
}
