package configs

import (
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The security overlays and the compose TLS variant (docs/security.md) against the files they
// depend on: the default config, the Dockerfile, compose.yaml and the Prometheus config.

// A later --config replaces lists, so an overlay that adds extensions restates
// service.extensions: it must be the default config's list plus its own, or merging it would drop
// an extension (the health endpoints, the queue's storage).
func TestOverlaysKeepDefaultExtensions(t *testing.T) {
	type extensions struct {
		Service struct {
			Extensions []string `yaml:"extensions"`
		} `yaml:"service"`
	}
	var base extensions
	readYAML(t, "otelcol-jeeves.yaml", &base)
	for overlay, added := range map[string][]string{
		"otelcol-jeeves-auth.yaml":  {"bearertokenauth"},
		"otelcol-jeeves-cloud.yaml": {"bearertokenauth/cloud_metrics", "bearertokenauth/cloud_traces"},
	} {
		var got extensions
		readYAML(t, overlay, &got)
		want := append(slices.Clone(base.Service.Extensions), added...)
		if !slices.Equal(got.Service.Extensions, want) {
			t.Errorf("%s: service.extensions = %v, want the default's plus %v: %v", overlay, got.Service.Extensions, added, want)
		}
	}
}

// imageConfigs maps each path under /etc/otelcol-jeeves in the image to its file in configs/, from
// the Dockerfile's COPY lines.
func imageConfigs(t *testing.T) map[string]string {
	t.Helper()
	raw, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || f[0] != "COPY" || strings.HasPrefix(f[1], "--") {
			continue
		}
		dst, srcs := f[len(f)-1], f[1:len(f)-1]
		for _, src := range srcs {
			if !strings.HasPrefix(src, "configs/") {
				continue
			}
			to := dst
			if strings.HasSuffix(dst, "/") {
				to = dst + path.Base(src)
			}
			out[to] = strings.TrimPrefix(src, "configs/")
		}
	}
	return out
}

var envRefRE = regexp.MustCompile(`\$\{env:([A-Z0-9_]+)`)

// compose.tls.yaml runs configs the image has, sets only variables the TLS overlay reads, to files
// under the directory it mounts, and changes nothing of Prometheus' command but its config file.
func TestComposeTLSOverride(t *testing.T) {
	base := readComposeFile(t)
	over := readComposeFileNamed(t, "compose.tls.yaml")
	images := imageConfigs(t)

	col := over.service(t, "otelcol-jeeves")
	var overlays []string
	for _, arg := range col.Command {
		p, ok := strings.CutPrefix(arg, "--config=")
		if !ok {
			t.Errorf("compose.tls.yaml: collector argument %q is not --config=", arg)
			continue
		}
		file, ok := images[p]
		if !ok {
			t.Errorf("compose.tls.yaml: the collector reads %s, which the Dockerfile does not copy (it copies %v)", p, images)
			continue
		}
		overlays = append(overlays, file)
	}
	if !slices.Equal(overlays, []string{"otelcol-jeeves.yaml", "otelcol-jeeves-tls.yaml"}) {
		t.Errorf("compose.tls.yaml: collector configs %v, want the default then the TLS overlay", overlays)
	}
	tlsOverlay, err := os.ReadFile(filepath.Join(root, "otelcol-jeeves-tls.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	read := map[string]bool{}
	for _, m := range envRefRE.FindAllStringSubmatch(string(tlsOverlay), -1) {
		read[m[1]] = true
	}
	for _, required := range []string{"JEEVES_TLS_CERT_FILE", "JEEVES_TLS_KEY_FILE"} {
		if _, ok := col.Environment[required]; !ok {
			t.Errorf("compose.tls.yaml does not set %s, which the TLS overlay requires", required)
		}
	}
	mounts := map[string]string{} // container path -> source under configs/
	for _, v := range col.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 {
			t.Errorf("compose.tls.yaml: volume %q", v)
			continue
		}
		mounts[parts[1]] = parts[0]
		if st, err := os.Stat(filepath.Join(root, parts[0])); err != nil || !st.IsDir() {
			t.Errorf("compose.tls.yaml mounts %s into the collector: not a directory in configs/ (%v)", parts[0], err)
		}
	}
	for k, v := range col.Environment {
		if !read[k] {
			t.Errorf("compose.tls.yaml sets %s, which otelcol-jeeves-tls.yaml does not read", k)
		}
		dir, file := path.Split(v)
		src, ok := mounts[strings.TrimSuffix(dir, "/")]
		if !ok {
			t.Errorf("compose.tls.yaml: %s=%s is not in a directory it mounts (%v)", k, v, mounts)
			continue
		}
		readme, err := os.ReadFile(filepath.Join(root, src, "README.md"))
		if err != nil || !strings.Contains(string(readme), "`"+file+"`") {
			t.Errorf("%s/README.md does not tell the operator to put %s there (%v)", src, file, err)
		}
	}

	// Prometheus: the same command but the config file, which must exist under the mounted
	// ./prometheus, and the CA mounted where that config reads it.
	prom := over.service(t, "prometheus")
	baseCmd := base.service(t, "prometheus").Command
	if len(prom.Command) != len(baseCmd) {
		t.Fatalf("compose.tls.yaml: prometheus command %v, compose.yaml's %v", prom.Command, baseCmd)
	}
	var promConfigFile string
	for i, arg := range prom.Command {
		if f, ok := strings.CutPrefix(arg, "--config.file=/etc/prometheus/"); ok {
			promConfigFile = f
			continue
		}
		if arg != baseCmd[i] {
			t.Errorf("compose.tls.yaml: prometheus argument %q differs from compose.yaml's %q", arg, baseCmd[i])
		}
	}
	if promConfigFile != "prometheus-tls.yml" {
		t.Fatalf("compose.tls.yaml: prometheus reads %q, want prometheus-tls.yml", promConfigFile)
	}
	var plain, secure map[string]any
	readYAML(t, "prometheus/prometheus.yml", &plain)
	readYAML(t, "prometheus/prometheus-tls.yml", &secure)
	var caFile string
	for _, sc := range secure["scrape_configs"].([]any) {
		job := sc.(map[string]any)
		if job["job_name"] != "otelcol-jeeves" {
			continue
		}
		if job["scheme"] != "https" {
			t.Errorf("prometheus-tls.yml: job otelcol-jeeves scheme %v, want https", job["scheme"])
		}
		tlsCfg, _ := job["tls_config"].(map[string]any)
		caFile, _ = tlsCfg["ca_file"].(string)
		delete(job, "scheme")
		delete(job, "tls_config")
	}
	if !reflect.DeepEqual(plain, secure) {
		a, _ := yaml.Marshal(plain)
		b, _ := yaml.Marshal(secure)
		t.Errorf("prometheus-tls.yml differs from prometheus.yml beyond the otelcol-jeeves job's scheme and tls_config:\n%s\n---\n%s", a, b)
	}
	mounted := false
	for _, v := range prom.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && parts[1] == caFile {
			mounted = true
			if _, err := os.Stat(filepath.Join(root, path.Dir(parts[0]), "README.md")); err != nil {
				t.Errorf("compose.tls.yaml mounts %s into Prometheus from a directory without a README: %v", parts[0], err)
			}
		}
	}
	if caFile == "" || !mounted {
		t.Errorf("prometheus-tls.yml reads the CA from %q, which compose.tls.yaml does not mount into Prometheus (%v)", caFile, prom.Volumes)
	}
}
