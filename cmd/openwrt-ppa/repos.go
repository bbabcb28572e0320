package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// runRepos adds, lists and removes repositories by URL on a running service, through its API.
func runRepos(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("repos", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", os.Getenv("OPENWRT_PPA_SERVER"), "the service's URL, e.g. https://ppa.example.org (env OPENWRT_PPA_SERVER)")
	token := fs.String("token", os.Getenv("OPENWRT_PPA_TOKEN"), "the admin token, or an API token of your account (env OPENWRT_PPA_TOKEN)")
	name := fs.String("name", "", "add: owner/repo to publish under (default: the URL's last two path segments)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: openwrt-ppa repos add URL [--name owner/repo] --server URL --token T")
		fmt.Fprintln(stderr, "       openwrt-ppa repos list --server URL [--token T]")
		fmt.Fprintln(stderr, "       openwrt-ppa repos remove owner/repo --server URL --token T")
		fmt.Fprintln(stderr, "\nadd registers a git repository by its https:// or ssh:// URL: the service polls it for new")
		fmt.Fprintln(stderr, "commits and builds it like an App repository. It prints the push webhook (URL and secret) and,")
		fmt.Fprintln(stderr, "for ssh, the deploy key to add to the repository (read-only). remove stops polling and building;")
		fmt.Fprintln(stderr, "the feeds stay.")
		fs.PrintDefaults()
	}
	// Flags may come before or after the positional arguments.
	var pos []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			if err == flag.ErrHelp {
				return 0
			}
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		pos, rest = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
	want := map[string]int{"add": 1, "list": 0, "remove": 1}
	if len(pos) == 0 || want[pos[0]] != len(pos)-1 || (pos[0] != "list" && len(pos) == 1) {
		fs.Usage()
		return 2
	}
	if *server == "" {
		fmt.Fprintln(stderr, "openwrt-ppa repos: give the service's URL with --server (or OPENWRT_PPA_SERVER)")
		return 2
	}
	c := apiClient{base: strings.TrimRight(*server, "/") + "/api/v1", token: *token}
	var err error
	switch pos[0] {
	case "add":
		err = c.add(ctx, stdout, pos[1], *name)
	case "list":
		err = c.list(ctx, stdout)
	case "remove":
		err = c.remove(ctx, stdout, pos[1])
	}
	if err != nil {
		fmt.Fprintln(stderr, "openwrt-ppa repos:", err)
		return 1
	}
	return 0
}

type apiClient struct{ base, token string }

func (c apiClient) do(ctx context.Context, method, path string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error struct{ Message string } `json:"error"`
		}
		if json.Unmarshal(raw, &e) == nil && e.Error.Message != "" {
			return fmt.Errorf("%s (%s)", e.Error.Message, resp.Status)
		}
		return fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	if out != nil && len(raw) > 0 {
		return json.Unmarshal(raw, out)
	}
	return nil
}

func (c apiClient) add(ctx context.Context, w io.Writer, repoURL, name string) error {
	var out struct {
		Owner, Name, URL string
		WebhookURL       string `json:"webhook_url"`
		WebhookSecret    string `json:"webhook_secret"`
		DeployKey        string `json:"deploy_key"`
	}
	if err := c.do(ctx, http.MethodPost, "/repos", map[string]string{"url": repoURL, "name": name}, &out); err != nil {
		return err
	}
	fmt.Fprintf(w, "added %s/%s from %s; its first build starts now\n", out.Owner, out.Name, out.URL)
	fmt.Fprintf(w, "push webhook: %s\nwebhook secret (shown once): %s\n", out.WebhookURL, out.WebhookSecret)
	if out.DeployKey != "" {
		fmt.Fprintf(w, "deploy key (add it to the repository, read-only):\n%s\n", out.DeployKey)
	}
	return nil
}

func (c apiClient) list(ctx context.Context, w io.Writer) error {
	var out struct {
		Repositories []struct{ Forge, Owner, Name string } `json:"repositories"`
	}
	if err := c.do(ctx, http.MethodGet, "/repos?limit=100", nil, &out); err != nil {
		return err
	}
	for _, r := range out.Repositories {
		if r.Forge == "git" {
			fmt.Fprintf(w, "%s/%s\n", r.Owner, r.Name)
		}
	}
	return nil
}

func (c apiClient) remove(ctx context.Context, w io.Writer, path string) error {
	owner, name, ok := strings.Cut(path, "/")
	if !ok || owner == "" || name == "" {
		return fmt.Errorf("%q is not owner/repo", path)
	}
	if err := c.do(ctx, http.MethodDelete, "/repos/"+url.PathEscape(owner)+"/"+url.PathEscape(name), nil, nil); err != nil {
		return err
	}
	fmt.Fprintf(w, "removed %s: no longer polled or built; its feeds stay\n", path)
	return nil
}
