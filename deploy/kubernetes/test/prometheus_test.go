package kubernetes

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// scrapeConfigs is the part of a Prometheus config that prometheus/scrape-configs.yml uses;
// decoded strictly, so a key outside it fails the test. (Debian's promtool is built without
// Kubernetes service discovery and rejects kubernetes_sd_configs, so it cannot check this file.)
type scrapeConfigs struct {
	ScrapeConfigs []struct {
		JobName       string `json:"job_name"`
		HonorLabels   bool   `json:"honor_labels"`
		KubernetesSDs []struct {
			Role       string `json:"role"`
			Namespaces struct {
				Names []string `json:"names"`
			} `json:"namespaces"`
		} `json:"kubernetes_sd_configs"`
		RelabelConfigs []relabelConfig `json:"relabel_configs"`
	} `json:"scrape_configs"`
}

type relabelConfig struct {
	SourceLabels []string `json:"source_labels"`
	Regex        string   `json:"regex"`
	Action       string   `json:"action"`
	TargetLabel  string   `json:"target_label"`
}

// TestPrometheusScrapeConfigs: each job keeps exactly the pods and port it is named for, under the
// job names configs/prometheus/prometheus.yml (and so the rules and alerts) use.
func TestPrometheusScrapeConfigs(t *testing.T) {
	m := render(t)
	ws := m.workloads(t)
	data, err := os.ReadFile(filepath.Join(kustomizeDir, "prometheus", "scrape-configs.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var sc scrapeConfigs
	if err := yaml.UnmarshalStrict(data, &sc); err != nil {
		t.Fatal(err)
	}
	repoProm, err := os.ReadFile(filepath.Join(repoRoot, "configs", "prometheus", "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		workload, port string
		honorLabels    bool
	}{
		"otelcol-jeeves":        {jeevesName, "metrics", true},
		"otelcol-jeeves-self":   {jeevesName, "telemetry", false},
		"otelcol-jeeves-router": {routerName, "telemetry", false},
	}
	var jobs []string
	for _, job := range sc.ScrapeConfigs {
		jobs = append(jobs, job.JobName)
		w, ok := want[job.JobName]
		if !ok {
			continue
		}
		if !strings.Contains(string(repoProm), "job_name: "+job.JobName+"\n") {
			t.Errorf("job %s is not a job of configs/prometheus/prometheus.yml", job.JobName)
		}
		if job.HonorLabels != w.honorLabels {
			t.Errorf("job %s: honor_labels %v, want %v (as in configs/prometheus/prometheus.yml)", job.JobName, job.HonorLabels, w.honorLabels)
		}
		if len(job.KubernetesSDs) != 1 || job.KubernetesSDs[0].Role != "pod" || !slices.Equal(job.KubernetesSDs[0].Namespaces.Names, []string{namespace}) {
			t.Errorf("job %s: want pod discovery in namespace %s, got %+v", job.JobName, namespace, job.KubernetesSDs)
		}
		// Every container port of every workload is a target of pod discovery; the job must keep
		// exactly the one it is named for.
		var kept []string
		for name, wl := range ws {
			for _, p := range collector(t, wl).Ports {
				meta := map[string]string{
					"__meta_kubernetes_pod_label_app_kubernetes_io_name": wl.template.Labels["app.kubernetes.io/name"],
					"__meta_kubernetes_pod_container_port_name":          p.Name,
					"__meta_kubernetes_pod_name":                         wl.name + "-0",
				}
				keep, instance := relabel(t, job.RelabelConfigs, meta)
				if keep {
					kept = append(kept, name+":"+p.Name)
					if instance != wl.name+"-0" {
						t.Errorf("job %s: instance %q, want the pod name", job.JobName, instance)
					}
				}
			}
		}
		slices.Sort(kept)
		if wantKept := []string{w.workload + ":" + w.port}; !slices.Equal(kept, wantKept) {
			t.Errorf("job %s keeps %v, want %v", job.JobName, kept, wantKept)
		}
	}
	slices.Sort(jobs)
	if wantJobs := []string{"otelcol-jeeves", "otelcol-jeeves-router", "otelcol-jeeves-self"}; !slices.Equal(jobs, wantJobs) {
		t.Errorf("jobs %v, want %v", jobs, wantJobs)
	}
}

// relabel applies keep and replace rules as Prometheus does (source labels joined by ";", the
// regex anchored at both ends, replace writing $1 — here the whole match — to target_label) and
// returns whether the target is kept and its instance label.
func relabel(t *testing.T, rules []relabelConfig, labels map[string]string) (bool, string) {
	t.Helper()
	instance := ""
	for _, rule := range rules {
		var vals []string
		for _, l := range rule.SourceLabels {
			vals = append(vals, labels[l])
		}
		value := strings.Join(vals, ";")
		regex := rule.Regex
		if regex == "" {
			regex = "(.*)"
		}
		re, err := regexp.Compile("^(?:" + regex + ")$")
		if err != nil {
			t.Fatalf("regex %q: %v", rule.Regex, err)
		}
		switch rule.Action {
		case "keep":
			if !re.MatchString(value) {
				return false, ""
			}
		case "", "replace":
			if rule.TargetLabel == "instance" && re.MatchString(value) {
				instance = re.ReplaceAllString(value, "$1")
			}
		default:
			t.Fatalf("relabel action %q is not handled by this test", rule.Action)
		}
	}
	return true, instance
}
