package app

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func parse(t *testing.T, args []string, env map[string]string) (*Config, error) {
	t.Helper()
	var c Config
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	err := c.Parse(fs, args, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	return &c, err
}

func TestConfigPrecedence(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(*Config) error
	}{
		{"defaults", nil, nil, func(c *Config) error {
			if c.Listen != "127.0.0.1:8080" || c.Data != "./data" || c.Network != "bridge" || c.JobTimeout != 2*time.Hour {
				return fmt.Errorf("defaults: %+v", c)
			}
			return nil
		}},
		{"env fills unset flag", nil, map[string]string{"OPENWRT_PPA_LISTEN": ":9000", "OPENWRT_PPA_WORKERS": "3"}, func(c *Config) error {
			if c.Listen != ":9000" || c.Workers != 3 {
				return fmt.Errorf("got listen %q workers %d", c.Listen, c.Workers)
			}
			return nil
		}},
		{"flag beats env", []string{"--listen", ":7000"}, map[string]string{"OPENWRT_PPA_LISTEN": ":9000"}, func(c *Config) error {
			if c.Listen != ":7000" {
				return fmt.Errorf("got %q", c.Listen)
			}
			return nil
		}},
		{"executor defaults to docker", nil, nil, func(c *Config) error {
			if c.Executor != ExecutorDocker || c.Kubeconfig != "" || c.KubeNamespace != "" || c.KubeInstance != "openwrt-ppa" {
				return fmt.Errorf("executor settings %q %q %q %q", c.Executor, c.Kubeconfig, c.KubeNamespace, c.KubeInstance)
			}
			return nil
		}},
		{"kube from env", nil, map[string]string{"OPENWRT_PPA_EXECUTOR": "kube", "OPENWRT_PPA_KUBECONFIG": "/k/admin.conf",
			"OPENWRT_PPA_KUBE_NAMESPACE": "ppa-builds", "OPENWRT_PPA_KUBE_INSTANCE": "ppa-prod"}, func(c *Config) error {
			if c.Executor != ExecutorKube || c.Kubeconfig != "/k/admin.conf" || c.KubeNamespace != "ppa-builds" || c.KubeInstance != "ppa-prod" {
				return fmt.Errorf("executor settings %q %q %q %q", c.Executor, c.Kubeconfig, c.KubeNamespace, c.KubeInstance)
			}
			return nil
		}},
		{"workspace", []string{"--workspace", "disk", "--workspace-size", "20G"}, nil, func(c *Config) error {
			if n, err := c.WorkspaceBytes(); c.Workspace != "disk" || n != 20e9 || err != nil {
				return fmt.Errorf("workspace %q of %d bytes (%v)", c.Workspace, n, err)
			}
			return nil
		}},
		{"default workspace", nil, nil, func(c *Config) error {
			if n, err := c.WorkspaceBytes(); c.Workspace != "auto" || n != 8<<30 || err != nil {
				return fmt.Errorf("workspace %q of %d bytes (%v)", c.Workspace, n, err)
			}
			return nil
		}},
		{"kube flags", []string{"--executor", "kube", "--kube-namespace", "b", "--kube-cpu-request", "250m", "--kube-memory-request", "1Gi"}, nil, func(c *Config) error {
			if c.Executor != ExecutorKube || c.KubeNamespace != "b" || c.Kubeconfig != "" || c.KubeCPURequest != "250m" || c.KubeMemoryRequest != "1Gi" {
				return fmt.Errorf("executor settings %q %q %q", c.Executor, c.KubeNamespace, c.Kubeconfig)
			}
			return nil
		}},
		{"secret from file", nil, map[string]string{"OPENWRT_PPA_ADMIN_TOKEN_FILE": secretFile}, func(c *Config) error {
			if c.AdminToken.Reveal() != "from-file" {
				return fmt.Errorf("got %q", c.AdminToken.Reveal())
			}
			return nil
		}},
		{"secret env beats file", nil, map[string]string{"OPENWRT_PPA_ADMIN_TOKEN": "env", "OPENWRT_PPA_ADMIN_TOKEN_FILE": secretFile}, func(c *Config) error {
			if c.AdminToken.Reveal() != "env" {
				return fmt.Errorf("got %q", c.AdminToken.Reveal())
			}
			return nil
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parse(t, tc.args, tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.check(c); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestConfigRefusesWithAdvice(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"bad public url", []string{"--public-url", "ftp:/x"}, nil, "not an http(s) URL"},
		{"app id without key", nil, map[string]string{"OPENWRT_PPA_GITHUB_APP_ID": "12"}, "OPENWRT_PPA_GITHUB_PRIVATE_KEY_FILE"},
		{"redis without kek", []string{"--redis", "redis://127.0.0.1:1"}, nil, "OPENWRT_PPA_KEY_ENCRYPTION_KEY"},
		{"bad number in env", nil, map[string]string{"OPENWRT_PPA_WORKERS": "many"}, "OPENWRT_PPA_WORKERS"},
		{"unreadable secret file", nil, map[string]string{"OPENWRT_PPA_SESSION_SECRET_FILE": "/nonexistent/x"}, "SESSION_SECRET_FILE"},
		{"unknown executor", []string{"--executor", "podman"}, nil, "use docker (builds on the local Docker engine) or kube"},
		{"unknown executor in env", nil, map[string]string{"OPENWRT_PPA_EXECUTOR": "k8s"}, `--executor "k8s"`},
		{"kubeconfig without kube", []string{"--kubeconfig", "/etc/kube.conf"}, nil, "add --executor kube"},
		{"namespace without kube", nil, map[string]string{"OPENWRT_PPA_KUBE_NAMESPACE": "builds"}, "add --executor kube"},
		{"bad namespace", []string{"--executor", "kube", "--kube-namespace", "Builds_1"}, nil, "not a namespace name"},
		{"bad instance", []string{"--executor", "kube", "--kube-instance", "my install"}, nil, "not a label value"},
		{"empty instance", []string{"--executor", "kube", "--kube-instance", ""}, nil, "not a label value"},
		{"bad cpu request", []string{"--executor", "kube", "--kube-cpu-request", "half"}, nil, "--kube-cpu-request \"half\" is not a positive Kubernetes quantity"},
		{"negative memory request", []string{"--executor", "kube", "--kube-memory-request", "-1Gi"}, nil, "--kube-memory-request"},
		{"request without kube", []string{"--kube-cpu-request", "100m"}, nil, "add --executor kube"},
		{"docker network on kube", []string{"--executor", "kube", "--network", "none"}, nil, "NetworkPolicy"},
		{"rootfs size on kube", []string{"--executor", "kube", "--rootfs-size", "20G"}, nil, "sizeLimit"},
		{"unknown workspace", []string{"--workspace", "zram"}, nil, "use auto, disk"},
		{"workspace and tmpfs", []string{"--workspace", "disk", "--workspace-tmpfs"}, nil, "contradict"},
		{"disk workspace on kube", []string{"--executor", "kube", "--workspace", "disk"}, nil, "emptyDir"},
		{"tiny workspace", []string{"--workspace-size", "1Mi"}, nil, "64Mi or more"},
		{"bad workspace size", nil, map[string]string{"OPENWRT_PPA_WORKSPACE_SIZE": "lots"}, "--workspace-size \"lots\""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(t, tc.args, tc.env)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestSecretNeverPrints(t *testing.T) {
	c, err := parse(t, nil, map[string]string{"OPENWRT_PPA_GITLAB_TOKEN": "glpat-xyz", "OPENWRT_PPA_GITLAB_WEBHOOK_SECRET": "hook"})
	if err != nil {
		t.Fatal(err)
	}
	var js bytes.Buffer
	slog.New(slog.NewJSONHandler(&js, nil)).Info("config", "token", c.GitLabToken, "cfg", c)
	for _, s := range []string{fmt.Sprint(c.GitLabToken), fmt.Sprintf("%v", *c), fmt.Sprintf("%+v", *c), js.String()} {
		if strings.Contains(s, "glpat-xyz") || strings.Contains(s, "hook\"") {
			t.Fatalf("secret leaked: %s", s)
		}
	}
}

// TestParseOnly: a command that takes some settings binds only their flags, reads only their
// environment, and keeps the defaults of the rest.
func TestParseOnly(t *testing.T) {
	env := map[string]string{"OPENWRT_PPA_DATA": "/srv/ppa", "OPENWRT_PPA_WORKERS": "not a number", "OPENWRT_PPA_LISTEN": ":1"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	var c Config
	fs := flag.NewFlagSet("keys export", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := c.ParseOnly(fs, nil, lookup, StoreSettings...); err != nil {
		t.Fatal(err)
	}
	if c.Data != "/srv/ppa" || c.Listen != "127.0.0.1:8080" || c.Workers != 1 || c.JobTimeout != 2*time.Hour {
		t.Fatalf("got data %q listen %q workers %d timeout %v", c.Data, c.Listen, c.Workers, c.JobTimeout)
	}
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	if strings.Join(names, ",") != "data,key-encryption-key,redis" {
		t.Errorf("flags %v", names)
	}
	if err := c.ParseOnly(flag.NewFlagSet("x", flag.ContinueOnError), nil, lookup, "no-such"); err == nil {
		t.Error("an unknown setting name was taken")
	}
	w := strings.Join(WorkerSettings(), ",")
	for _, want := range []string{"redis", "data", "visibility-timeout", "github-app-id", "gitlab-token", "public-url"} {
		if !strings.Contains(","+w+",", ","+want+",") {
			t.Errorf("worker lacks %s: %s", want, w)
		}
	}
	for _, not := range []string{"listen", "session-secret", "admin-token", "queue-limit"} {
		if strings.Contains(","+w+",", ","+not+",") {
			t.Errorf("worker takes %s: %s", not, w)
		}
	}
}
