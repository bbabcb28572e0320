package testenv

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Browser is Debian's chromium, headless with a fresh profile, driven through one tab. Its
// methods take the (sub)test they report to, so one browser serves several subtests.
type Browser struct {
	Ctx   context.Context
	shots string // the folder under the screenshots' folder
}

// StartBrowser starts chromium for the test, or skips (fails under CI) through Missing;
// screenshots go to the folder shots under Artifacts. It stops when the test ends.
func StartBrowser(t testing.TB, shots string) *Browser {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		Missing(t, "chromium", "the browser tests drive Debian's chromium (apt-get install chromium)")
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
	)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 5*time.Minute)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("chromium at %s does not start: %v", path, err)
	}
	return &Browser{Ctx: ctx, shots: shots}
}

// Artifacts is where screenshots go: $TEST_ARTIFACTS, else a fixed folder under the temp dir
// that each run overwrites (kept after the test, so a person can look).
func Artifacts(t testing.TB, sub string) string {
	t.Helper()
	dir := os.Getenv("TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "openwrt-ppa-screenshots")
	}
	dir = filepath.Join(dir, sub)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Shot saves a screenshot of the whole page as name.png.
func (b *Browser) Shot(t testing.TB, name string) {
	t.Helper()
	png, err := chromedp.Run(b.Ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(Artifacts(t, b.shots), name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)
}

// Do runs the steps, failing the test with what they were for.
func (b *Browser) Do(t testing.TB, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(b.Ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// Wait polls a JavaScript condition until it holds, for up to 15 s. It polls from Go rather
// than with chromedp.Poll, which does not survive the navigations the conditions often wait for.
func (b *Browser) Wait(t testing.TB, what, js string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		ok, err := chromedp.Run(b.Ctx, chromedp.Evaluate[bool]("!!("+js+")"))
		if err == nil && ok {
			return
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("waiting for %s (%s): timed out (last error: %v)", what, js, last)
}

// BrowserEval evaluates js in the page (awaiting a promise) as a T.
func BrowserEval[T any](t testing.TB, b *Browser, js string) T {
	t.Helper()
	v, err := chromedp.Run(b.Ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluating %s: %v", js, err)
	}
	return v
}
