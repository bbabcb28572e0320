package web

import (
	"context"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

func TestAuthCache(t *testing.T) {
	inner := &fakeAuth{writers: map[string][]string{"alice/packages": {"github:alice"}}}
	clk := &clock{}
	clk.set(t0)
	c := newAuthCache(inner, clk.Now)
	repo := store.Repository{ID: 1, Owner: "alice", Name: "packages", Forge: "github"}
	alice, bob := User{Forge: "github", Login: "alice"}, User{Forge: "github", Login: "bob"}
	ctx := context.Background()
	steps := []struct {
		name      string
		user      User
		fail      bool
		advance   time.Duration
		want      bool
		wantErr   bool
		wantAsked int
	}{
		{"first question goes to the forge", alice, false, 0, true, false, 1},
		{"the answer is reused", alice, false, 30 * time.Second, true, false, 1},
		{"another user is asked about", bob, false, 0, false, false, 2},
		{"a no is reused too", bob, false, 0, false, false, 2},
		{"after the TTL the forge is asked again", alice, false, authTTL, true, false, 3},
		{"an error is passed on", bob, true, authTTL, false, true, 4},
		{"and not remembered", bob, false, 0, false, false, 5},
	}
	for _, s := range steps {
		inner.setFail(s.fail)
		clk.set(clk.Now().Add(s.advance))
		got, err := c.CanWrite(ctx, repo, s.user)
		inner.mu.Lock()
		asked := inner.asked
		inner.mu.Unlock()
		if got != s.want || (err != nil) != s.wantErr || asked != s.wantAsked {
			t.Errorf("%s: %v, %v after %d forge questions; want %v, error %v, %d", s.name, got, err, asked, s.want, s.wantErr, s.wantAsked)
		}
	}
}
