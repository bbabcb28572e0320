package web

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// get fetches path with c and returns status, content type and body.
func get(t *testing.T, c *http.Client, url string, hdr ...string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

func TestPages(t *testing.T) {
	fx := newFixture(t)
	anon := fx.client(t)
	alice := fx.signIn(t, "alice")
	mallory := fx.signIn(t, "mallory")
	html := []string{"Accept", "text/html"}
	b := fmt.Sprint(fx.mainBuild.ID)
	cases := []struct {
		name    string
		c       *http.Client
		path    string
		hdr     []string
		status  int
		want    []string
		notWant []string
	}{
		{"home lists repositories with branch status", anon, "/", nil, 200,
			[]string{"alice/packages", "group/sub/proj", "main", "failure", `href="/group~sub/proj"`}, []string{"bob/secret"}},
		{"home search", anon, "/?q=PROJ", nil, 200, []string{"group/sub/proj"}, []string{"alice/packages"}},
		{"home search without match says so", anon, "/?q=nothing-like-this", nil, 200, []string{"No repository matches"}, nil},
		{"repo page", anon, "/alice/packages", nil, 200, []string{
			"Install on a router", mainFP,
			"wget -O /etc/opkg/keys/" + mainFP + " " + fx.srv.URL + "/alice/packages/-/key.pub",
			"echo &#39;src/gz alice_packages " + fx.srv.URL + "/alice/packages/main/24.10/mipsel_24kc&#39; &gt;&gt; /etc/opkg/customfeeds.conf",
			`<option selected>24.10</option><option>23.05</option>`,
			"release/1.x", `href="/alice/packages/release~1.x/24.10/x86_64/"`, "tag v1.0", "#7", "feature/x",
			"badge.svg", "[![openwrt-ppa](" + fx.srv.URL + "/alice/packages/-/badge.svg)]",
		}, []string{`id="rebuild"`}},
		{"repo page matches case-insensitively, shows forge spelling", anon, "/ALICE/Packages", nil, 200, []string{"<title>alice/packages</title>"}, nil},
		{"repo page arch selection", anon, "/alice/packages?ref=branch:main&series=24.10&arch=mipsel_24kc", nil, 200,
			[]string{fx.srv.URL + "/alice/packages/main/24.10/mipsel_24kc&#39;", `<option selected>mipsel_24kc</option>`}, nil},
		{"repo page pull request uses the preview key", anon, "/alice/packages?ref=pr:7", nil, 200,
			[]string{"/etc/opkg/keys/" + previewFP + " " + fx.srv.URL + "/alice/packages/-/preview-key.pub", "/alice/packages/-/pr/7/24.10/x86_64&#39;"}, nil},
		{"repo page of a tag", anon, "/alice/packages?ref=tag:v1.0", nil, 200, []string{"/alice/packages/-/tags/v1.0/24.10/x86_64&#39;"}, nil},
		{"gitlab subgroup owner", anon, "/group~sub/proj", nil, 200, []string{"group/sub/", "src/gz group_sub_proj " + fx.srv.URL + "/group~sub/proj/master/23.05/aarch64_cortex-a53", "no signing key yet"}, nil},
		{"repository without feeds says how to get one", anon, "/carol/empty", nil, 200, []string{"No feed is published yet", "No builds yet"}, nil},
		{"unknown repo is a 404 page", anon, "/alice/nothing", nil, 404, []string{"Repository not found", "There is no repository alice/nothing"}, nil},
		{"private repo hidden from anonymous", anon, "/bob/secret", nil, 404, []string{"Repository not found"}, nil},
		{"private repo hidden from outsider", mallory, "/bob/secret", nil, 404, nil, nil},
		{"private repo shown to reader", alice, "/bob/secret", nil, 200, []string{"private"}, nil},
		{"reserved top-level name", anon, "/metrics/x", nil, 404, []string{"Page not found"}, nil},
		{"one segment is not a page", anon, "/alice", nil, 404, []string{"Page not found"}, nil},
		{"repository with a trailing slash", anon, "/alice/packages/", nil, 200, []string{"<title>alice/packages</title>"}, nil},
		{"builds page", anon, "/alice/packages/-/builds", nil, 200, []string{"#" + b, "feature/x", "tag v1.0"}, nil},
		{"builds filtered by status", anon, "/alice/packages/-/builds?status=running", nil, 200, []string{"feature/x"}, []string{"tag v1.0"}},
		{"builds filtered by ref", anon, "/alice/packages/-/builds?ref=tag", nil, 200, []string{"tag v1.0"}, []string{"feature/x"}},
		{"builds paged", anon, "/alice/packages/-/builds?limit=2", nil, 200, []string{`rel="next"`, "before="}, nil},
		{"builds bad filter", anon, "/alice/packages/-/builds?status=green", nil, 400, []string{"Bad filter", "status must be one of"}, nil},
		{"build page: matrix, packages, failed log first", anon, "/alice/packages/-/builds/" + b, nil, 200, []string{
			"Build #" + b, "x86_64", "mipsel_24kc", "hello-luci", "at compile", "make exited with 2",
			"error: hello-luci failed", "1m15s", "push", "alice", "2.0 KiB", "OpenWrt 24.10.6 SDK",
		}, []string{`id="rebuild"`, "data-events"}},
		{"build page: chosen job's log", anon, fmt.Sprintf("/alice/packages/-/builds/%s?job=%d", b, fx.mainJobs[0].ID), nil, 200, []string{"hello built"}, nil},
		{"build page: running job follows live", anon, fmt.Sprintf("/alice/packages/-/builds/%d", fx.running.ID), nil, 200,
			[]string{fmt.Sprintf(`data-events="/api/v1/repos/alice/packages/jobs/%d/events"`, fx.runningJob.ID), "running"}, nil},
		{"build page: writer sees Rebuild", alice, "/alice/packages/-/builds/" + b, nil, 200, []string{`id="rebuild"`, `name="csrf"`}, nil},
		{"build page: outsider sees no Rebuild", mallory, "/alice/packages/-/builds/" + b, nil, 200, nil, []string{`id="rebuild"`}},
		{"build of another repository is not found", anon, fmt.Sprintf("/alice/packages/-/builds/%d", fx.privateBuild.ID), nil, 404, []string{"has no build"}, nil},
		{"build id not a number", anon, "/alice/packages/-/builds/x", nil, 404, []string{"Build not found"}, nil},
		{"feed listing for browsers", anon, "/alice/packages/main/24.10/x86_64/", html, 200, []string{
			"hello_1.0-r1_x86_64.ipk", "1.0-r1", "4.0 KiB", "2026-11-20 12:00 UTC", "Packages.sig",
			"src/gz alice_packages " + fx.srv.URL + "/alice/packages/main/24.10/x86_64",
			`href="/alice/packages/main/24.10/x86_64/hello_1.0-r1_x86_64.ipk"`,
		}, nil},
		{"feed listing of a ref", anon, "/alice/packages/release~1.x/", html, 200, []string{`href="/alice/packages/release~1.x/24.10/"`}, nil},
		{"feed listing of a series", anon, "/alice/packages/main/24.10/", html, 200, []string{"mipsel_24kc/", "x86_64/"}, []string{"23.05/"}},
		{"feed listing of latest", anon, "/alice/packages/-/latest/24.10/x86_64/", html, 200, []string{"latest tag", "/alice/packages/-/latest/24.10/x86_64"}, nil},
		{"feed listing of a pull request", anon, "/alice/packages/-/pr/7/24.10/x86_64/", html, 200, []string{"#7"}, nil},
		{"feed listing of an unpublished arch", anon, "/alice/packages/main/24.10/mips_24kc/", html, 404, []string{"Feed not found"}, nil},
		{"feed listing of a private repo hidden", anon, "/bob/secret/main/24.10/x86_64/", html, 404, nil, nil},
		{"routers get feed files", anon, "/alice/packages/main/24.10/x86_64/Packages", nil, 200, []string{"feed file server: /alice/packages/main/24.10/x86_64/Packages"}, nil},
		{"folders without Accept html go to the feed server", anon, "/alice/packages/main/24.10/x86_64/", nil, 200, []string{"feed file server"}, nil},
		{"key goes to the feed server", anon, "/alice/packages/-/key.pub", nil, 200, []string{"feed file server: /alice/packages/-/key.pub"}, nil},
		{"unknown /-/ page", anon, "/alice/packages/-/nothing", html, 200, []string{"feed file server"}, nil},
		{"login page offers GitHub", anon, "/login", nil, 200, []string{"Sign in with GitHub", "/login?forge=github"}, nil},
		{"login with an unknown forge", anon, "/login?forge=bitbucket", nil, 404, []string{"Sign-in not available"}, nil},
		{"callback without a state", anon, "/auth/github/callback?code=x", nil, 400, []string{"could not be verified"}, nil},
		{"callback of an unknown forge", anon, "/auth/gitea/callback", nil, 404, nil, nil},
		{"callback with a forge error", anon, "/auth/github/callback?error=access_denied", nil, 403, []string{"access_denied"}, nil},
		{"logout page", alice, "/logout", nil, 200, []string{"Sign out alice"}, nil},
		{"static stylesheet", anon, "/static/style.css", nil, 200, []string{"overflow-x"}, nil},
		{"static folder is not listed", anon, "/static/", nil, 404, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, ctype, body := get(t, tc.c, fx.srv.URL+tc.path, tc.hdr...)
			if status != tc.status {
				t.Errorf("GET %s: status %d, want %d\n%s", tc.path, status, tc.status, body)
			}
			if strings.HasPrefix(ctype, "text/html") && !strings.Contains(body, "</html>") {
				t.Errorf("GET %s: the page is not whole", tc.path)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("GET %s: body lacks %q\n%s", tc.path, w, body)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(body, w) {
					t.Errorf("GET %s: body holds %q", tc.path, w)
				}
			}
		})
	}
}
