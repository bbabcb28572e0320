package remote

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/internal/giturl"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// Who may register repositories by URL.
const (
	AllowUsers  = "users"  // signed-in users (within their quota) and admins
	AllowAdmins = "admins" // admins only
	AllowOff    = "off"    // nobody: the feature is off
)

// Config is what the stage is told.
type Config struct {
	Policy giturl.Policy // which addresses may be fetched from
	// TLS holds extra roots for https repositories (tests, an install's own CA); nil: the
	// system's.
	TLS        *tls.Config
	Interval   time.Duration // between two polls of a repository; 0 means 5 minutes
	MaxBackoff time.Duration // the longest wait after failures; 0 means 6 hours
	Allow      string        // AllowUsers (default), AllowAdmins or AllowOff
	Quota      int           // repositories one user may register; 0 means 5
	// BuildMinutes bounds the build time of one user's repositories per calendar month (UTC);
	// 0: no bound. Admins' repositories have none.
	BuildMinutes int
	BaseURL      string // the service's public URL, for webhook URLs
}

func (c Config) interval() time.Duration {
	if c.Interval <= 0 {
		return 5 * time.Minute
	}
	return c.Interval
}

func (c Config) maxBackoff() time.Duration {
	if c.MaxBackoff <= 0 {
		return 6 * time.Hour
	}
	return c.MaxBackoff
}

func (c Config) quota() int {
	if c.Quota <= 0 {
		return 5
	}
	return c.Quota
}

// Deps are the parts the stage works with.
type Deps struct {
	Store    store.Store
	Inbox    forge.Inbox
	CacheDir string // the clone cache the workers share (reading config files uses it too)
	Logger   *slog.Logger
	Now      func() time.Time
}

// Remotes is the stage. Safe for concurrent use.
type Remotes struct {
	cfg        Config
	store      store.Store
	inbox      forge.Inbox
	checkout   *builder.Checkouter
	transports map[string]transport.Transport
	log        *slog.Logger
	now        func() time.Time
	wake       chan struct{}
	creds      sync.Map // checked ssh URL → its deploy key's transport.AuthMethod
}

// installMu serialises the one process-wide step: go-git keeps transports in a global table.
var installMu sync.Mutex

// New returns the stage. It installs the checked transports in go-git's table under their own
// schemes (giturl.HTTPSScheme, giturl.SSHScheme); a later New replaces them, so one process
// runs one policy.
func New(cfg Config, d Deps) (*Remotes, error) {
	if d.Store == nil || d.Inbox == nil || d.CacheDir == "" {
		return nil, errors.New("repositories by URL need a store, an inbox and a cache folder")
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if cfg.Allow == "" {
		cfg.Allow = AllowUsers
	}
	r := &Remotes{cfg: cfg, store: d.Store, inbox: d.Inbox, log: d.Logger, now: d.Now,
		transports: cfg.Policy.Transports(cfg.TLS), wake: make(chan struct{}, 1)}
	installMu.Lock()
	for scheme, t := range r.transports {
		client.InstallProtocol(scheme, t)
	}
	installMu.Unlock()
	r.checkout = &builder.Checkouter{CacheDir: d.CacheDir, Logger: d.Logger, Auth: r.auth}
	return r, nil
}

// auth gives the checkout that reads config files the deploy key of a checked ssh URL.
func (r *Remotes) auth(url string) (transport.AuthMethod, error) {
	if a, ok := r.creds.Load(url); ok {
		return a.(transport.AuthMethod), nil
	}
	return nil, nil
}

// Wake makes the poller look now.
func (r *Remotes) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Store is the store the stage keeps remotes in.
func (r *Remotes) Store() store.Store { return r.store }
