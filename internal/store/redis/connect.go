package redis

import (
	"context"
	"fmt"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Connect opens a client for a --redis URL (redis://[user:password@]host:port/db, or rediss://
// for TLS) and checks that the server answers. The store, queue, locker and log streams share
// the one client; close it when done.
func Connect(ctx context.Context, url string) (*goredis.Client, error) {
	opts, err := goredis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("--redis %q is not a redis:// or rediss:// URL: %w", redactURL(url), err)
	}
	c := goredis.NewClient(opts)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := c.Ping(pctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("Redis at %s does not answer (is it running, and the address and password right?): %w", opts.Addr, err)
	}
	return c, nil
}

// redactURL hides a password in a URL, so an error message never carries it into a log.
func redactURL(s string) string {
	opts, err := goredis.ParseURL(s)
	if err != nil || opts.Password == "" {
		if at := strings.LastIndexByte(s, '@'); at >= 0 {
			return "redis://***@" + s[at+1:]
		}
		return s
	}
	return "redis://***@" + opts.Addr
}
