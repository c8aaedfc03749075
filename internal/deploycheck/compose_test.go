package deploycheck

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/partneraccess/partneraccess/workflows"
)

func load(t *testing.T, env map[string]string) (*types.Project, error) {
	t.Helper()
	root, _ := filepath.Abs("../..")
	return loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  root,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(root, "docker-compose.yml")}},
		Environment: env,
	}, func(o *loader.Options) { o.SetProjectName("partner-access", true) })
}

func TestComposeHasEveryServicePortAndVolume(t *testing.T) {
	p, err := load(t, map[string]string{"SECRET_KEY": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=", "SENDGRID_API_KEY": "SG.from-the-host"})
	if err != nil {
		t.Fatal(err)
	}
	svc := func(name string) types.ServiceConfig {
		t.Helper()
		s, ok := p.Services[name]
		if !ok {
			t.Fatalf("service %q missing", name)
		}
		return s
	}
	published := func(s types.ServiceConfig) []string {
		var out []string
		for _, port := range s.Ports {
			out = append(out, port.HostIP+":"+port.Published+":"+strconv.FormatUint(uint64(port.Target), 10))
		}
		return out
	}
	// Temporal's frontend and UI on loopback only: whoever reaches them can signal workflows.
	for _, tc := range []struct{ service, port string }{{"temporal", "127.0.0.1:7233:7233"}, {"temporal-ui", "127.0.0.1:8233:8080"}, {"server", ":8080:8080"}} {
		if got := published(svc(tc.service)); !slices.Equal(got, []string{tc.port}) {
			t.Errorf("%s publishes %v, want only %s", tc.service, got, tc.port)
		}
	}
	if _, ok := p.Volumes["pgdata"]; !ok || len(p.Volumes) != 1 {
		t.Errorf("volumes %v, want only pgdata (workers and servers keep nothing on disk)", p.Volumes)
	}
	mounts := func(s types.ServiceConfig, source, target string) bool {
		for _, v := range s.Volumes {
			if v.Source == source && v.Target == target {
				return true
			}
		}
		return false
	}
	if !mounts(svc("postgresql"), "pgdata", "/var/lib/postgresql/data") {
		t.Error("postgresql does not keep its data on the pgdata volume")
	}
	root, _ := filepath.Abs("../..")
	if !mounts(svc("postgresql"), filepath.Join(root, "deploy/postgres"), "/docker-entrypoint-initdb.d") {
		t.Errorf("postgresql does not run deploy/postgres when first initialised: %+v", svc("postgresql").Volumes)
	}
	env := func(s types.ServiceConfig, k string) string {
		if v := s.Environment[k]; v != nil {
			return *v
		}
		return ""
	}
	for _, name := range []string{"worker", "server"} {
		s := svc(name)
		if s.Build == nil || s.Build.Context == "" {
			t.Errorf("%s is not built from the Dockerfile", name)
		}
		if len(s.Volumes) != 0 {
			t.Errorf("%s mounts %v; it must keep nothing on disk, to run on any host", name, s.Volumes)
		}
		for k, want := range map[string]string{"TEMPORAL_ADDRESS": "temporal:7233", "SENDGRID_API_KEY": "SG.from-the-host",
			"DATABASE_URL": "postgres://partneraccess:partneraccess@postgresql:5432/partneraccess?sslmode=disable"} {
			if got := env(s, k); got != want {
				t.Errorf("%s %s = %q, want %q", name, k, got, want)
			}
		}
		if env(s, "SECRET_KEY") == "" || env(s, "PUBLIC_URL") == "" {
			t.Errorf("%s lacks SECRET_KEY or PUBLIC_URL", name)
		}
		for _, dep := range []string{"temporal", "postgresql"} {
			if d, ok := s.DependsOn[dep]; !ok || d.Condition != types.ServiceConditionHealthy {
				t.Errorf("%s does not wait for a healthy %s: %+v", name, dep, s.DependsOn)
			}
		}
	}
	if got := svc("worker").Command; len(got) != 1 || got[0] != "worker" {
		t.Errorf("worker command %v", got)
	}
	if got := svc("server").Command; len(got) != 1 || got[0] != "server" {
		t.Errorf("server command %v", got)
	}
	if env(svc("server"), "HTTP_ADDR") != "0.0.0.0:8080" {
		t.Error("server does not listen on all interfaces in its container")
	}
	if d := svc("worker").DependsOn["search-attributes"]; d.Condition != types.ServiceConditionCompletedSuccessfully {
		t.Errorf("worker does not wait for the search attributes: %+v", d)
	}
	if d := svc("temporal").DependsOn["postgresql"]; d.Condition != types.ServiceConditionHealthy {
		t.Errorf("temporal does not wait for a healthy postgresql: %+v", d)
	}
	if env(svc("temporal"), "DB") != "postgres12" || env(svc("temporal"), "POSTGRES_SEEDS") != "postgresql" {
		t.Error("temporal is not set up on PostgreSQL")
	}
	if env(svc("temporal-ui"), "TEMPORAL_ADDRESS") != "temporal:7233" {
		t.Error("the UI does not talk to temporal:7233")
	}
	job := strings.Join(svc("search-attributes").Command, " ")
	for _, name := range workflows.SearchAttributeNames() {
		if !strings.Contains(job, name) {
			t.Errorf("search-attributes job does not create %s", name)
		}
	}
}

func TestComposeNeedsASecretKeyAndHardCodesNoAPIKey(t *testing.T) {
	if _, err := load(t, map[string]string{}); err == nil || !strings.Contains(err.Error(), "SECRET_KEY") {
		t.Fatalf("loading without SECRET_KEY: %v, want an error naming it", err)
	}
	raw, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "SG.") {
		t.Fatal("docker-compose.yml contains what looks like a SendGrid key")
	}
}

func TestDockerfileBuildsWithCgoAndRunsAsNonRoot(t *testing.T) {
	raw, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var stages, user, build string
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "FROM":
			stages += line + "\n"
		case "USER":
			user = f[1]
		case "RUN":
			if strings.Contains(line, "go build") {
				build = line
			}
		}
	}
	if strings.Count(stages, "FROM") < 2 {
		t.Errorf("not multi-stage:\n%s", stages)
	}
	if !strings.Contains(build, "CGO_ENABLED=1") || !strings.HasSuffix(strings.TrimSpace(build), " .") {
		t.Errorf("build line %q: want a cgo build of the module root", build)
	}
	if user == "" || user == "root" || user == "0" {
		t.Errorf("runs as %q, want a non-root user", user)
	}
}

func TestComposeMakesTheAppDatabaseAndSuitsDockerCompose129(t *testing.T) {
	p, err := load(t, map[string]string{"SECRET_KEY": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=", "APP_DB_PASSWORD": "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	pg := p.Services["postgresql"].Environment
	if pg["APP_DB_USER"] == nil || *pg["APP_DB_USER"] != "partneraccess" || pg["APP_DB_PASSWORD"] == nil || *pg["APP_DB_PASSWORD"] != "s3cret" {
		t.Fatalf("postgresql environment %v: want the app's user and password", pg)
	}
	if url := p.Services["worker"].Environment["DATABASE_URL"]; url == nil || !strings.Contains(*url, "partneraccess:s3cret@postgresql:5432/partneraccess") {
		t.Fatalf("worker DATABASE_URL %v does not use APP_DB_PASSWORD", url)
	}
	script, err := os.ReadFile("../../deploy/postgres/10-partneraccess.sh")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CREATE ROLE", "CREATE DATABASE", "$APP_DB_USER", "$APP_DB_PASSWORD"} {
		if !strings.Contains(string(script), want) {
			t.Errorf("deploy/postgres/10-partneraccess.sh lacks %q", want)
		}
	}
	if fi, err := os.Stat("../../deploy/postgres/10-partneraccess.sh"); err != nil || fi.Mode()&0o111 == 0 {
		t.Errorf("the init script must be executable: %v %v", fi.Mode(), err)
	}
	// docker-compose 1.29 refuses a top-level name:.
	raw, _ := os.ReadFile("../../docker-compose.yml")
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "name:") {
			t.Errorf("top-level %q: docker-compose 1.29 refuses it", line)
		}
	}
}
