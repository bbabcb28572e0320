package app

import (
	"context"
	"fmt"
	"strconv"

	"github.com/openwrt-ppa/openwrt-ppa/app/web"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// FirstSteps are the ways to get a first repository built on this service, with the exact
// settings its configuration still lacks: the home page of an empty service and serve's start-up
// log show them. A new way is one more entry here.
func (c *Config) FirstSteps() []web.FirstStep {
	base := c.BaseURL()
	gh := web.FirstStep{Key: "github_app", Title: "Install the GitHub App", Ready: c.GitHubAppID != 0}
	if gh.Ready {
		gh.Text = "This service is the GitHub App " + strconv.FormatInt(c.GitHubAppID, 10) +
			": install the App on a repository of package Makefiles and push. The App's webhook URL must be:"
		gh.Lines = []string{base + "/webhooks/github"}
	} else {
		gh.Text = "Create a GitHub App from docs/github-app-manifest.json (webhook URL below, with a secret), then restart serve with its id, private key and secret, install the App on a repository and push:"
		gh.Lines = []string{
			"webhook URL " + base + "/webhooks/github",
			"--github-app-id ID --github-private-key-file app.pem --github-webhook-secret SECRET",
			"or " + EnvName("github-app-id") + ", " + EnvName("github-private-key-file") + ", " + EnvName("github-webhook-secret"),
		}
	}
	gl := web.FirstStep{Key: "gitlab_webhook", Title: "Add the GitLab webhook", Ready: c.GitLabToken != ""}
	hook := []string{
		"URL " + base + "/webhooks/gitlab",
		"secret token: the one `openwrt-ppa gitlab-secrets add --data " + c.Data + " PROJECT-ID` prints",
		"triggers: Push events, Tag push events, Comments, Merge request events",
	}
	if gl.Ready {
		gl.Text = "This service talks to " + c.GitLabURL + ". In the project, Settings → Webhooks → Add new webhook:"
		gl.Lines = hook
	} else {
		gl.Text = "Give serve a GitLab token (api scope, Developer role or more), then in the project add a webhook (Settings → Webhooks):"
		gl.Lines = append([]string{
			"--gitlab-token TOKEN [--gitlab-url https://gitlab.example.org/] (or " + EnvName("gitlab-token") + ", " + EnvName("gitlab-url") + ")",
		}, hook...)
	}
	local := web.FirstStep{Key: "local_build", Title: "Build on this machine", Ready: true,
		Text: "Without any forge: build every package of a repository or folder in the OpenWrt SDK container and write a signed feed into ./feed:",
		Lines: []string{
			"openwrt-ppa build <git URL or folder>",
			"openwrt-ppa build --series 24.10 --arch x86_64 https://github.com/you/packages.git",
		}}
	steps := []web.FirstStep{gh, gl}
	if c.ReposAllow != "off" {
		who := "a signed-in user or the admin token"
		if c.ReposAllow == "admins" {
			who = "the admin token (--repos-allow admins)"
		}
		steps = append(steps, web.FirstStep{Key: "repo_url", Title: "Add a repository by its URL", Ready: true,
			Text: "Any git server, no forge App: give the service an https or ssh URL (" + who + "); it polls the repository and offers it a push webhook:",
			Lines: []string{
				"openwrt-ppa repos add <https or ssh URL> --server " + base + " --token ADMIN_TOKEN",
				"or POST " + base + "/api/v1/repos {\"url\": \"https://codeberg.org/you/packages.git\"}",
			}})
	}
	return append(steps, local)
}

// logFirstSteps prints the ways to a first repository when the store has none: the line a new
// operator reads after `make run`.
func (rt *Runtime) logFirstSteps(ctx context.Context) {
	repos, err := rt.Store.ListRepositories(ctx, store.RepositoryQuery{Limit: 1})
	if err != nil {
		rt.log.Warn("cannot tell whether any repository is built here", "err", fmt.Errorf("listing repositories: %w", err))
		return
	}
	if len(repos) == 0 {
		web.LogFirstSteps(rt.log, rt.Config.FirstSteps())
	}
}
