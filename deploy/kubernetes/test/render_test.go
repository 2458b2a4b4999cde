// Package kubernetes checks deploy/kubernetes without a cluster: it renders the kustomization the
// way `kubectl apply -k` does, decodes every object strictly into the k8s.io/api types and checks
// that names, ports, labels, selectors, environment and memory settings agree with each other and
// with the collector configs, which it validates with the otelcol-jeeves binary.
//
// It is a module of its own so that kustomize and the Kubernetes API types stay out of the
// collector's dependency graph.
package kubernetes

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// The fixed names of the deployment.
const (
	namespace       = "jeeves-observability"
	routerName      = "otelcol-jeeves-router"
	jeevesName      = "otelcol-jeeves"
	headlessName    = "otelcol-jeeves-headless"
	queueClaim      = "queue"
	queueMountPath  = "/var/lib/otelcol-jeeves/queue"
	configMountPath = "/etc/otelcol-jeeves"
)

// kustomizeDir is deploy/kubernetes, relative to this package.
const kustomizeDir = ".."

// repoRoot is the repository root, relative to this package.
var repoRoot = filepath.Join("..", "..", "..")

// manifests holds every rendered object, decoded into its API type.
type manifests struct {
	namespaces   map[string]*corev1.Namespace
	accounts     map[string]*corev1.ServiceAccount
	roles        map[string]*rbacv1.Role
	bindings     map[string]*rbacv1.RoleBinding
	configMaps   map[string]*corev1.ConfigMap
	services     map[string]*corev1.Service
	deployments  map[string]*appsv1.Deployment
	statefulSets map[string]*appsv1.StatefulSet
	hpas         map[string]*autoscalingv2.HorizontalPodAutoscaler
	pdbs         map[string]*policyv1.PodDisruptionBudget
	// ids lists every object as "apiVersion kind namespace/name", in render order.
	ids []string
}

var (
	renderOnce sync.Once
	rendered   *manifests
	renderErr  error
)

// render builds the kustomization once per test binary.
func render(t *testing.T) *manifests {
	t.Helper()
	renderOnce.Do(func() { rendered, renderErr = build(kustomizeDir) })
	if renderErr != nil {
		t.Fatal(renderErr)
	}
	return rendered
}

// build renders the kustomization in dir (with kustomize's default options: files outside dir
// cannot be loaded, as with `kubectl apply -k`) and decodes every object.
func build(dir string) (*manifests, error) {
	resMap, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	m := &manifests{
		namespaces:   map[string]*corev1.Namespace{},
		accounts:     map[string]*corev1.ServiceAccount{},
		roles:        map[string]*rbacv1.Role{},
		bindings:     map[string]*rbacv1.RoleBinding{},
		configMaps:   map[string]*corev1.ConfigMap{},
		services:     map[string]*corev1.Service{},
		deployments:  map[string]*appsv1.Deployment{},
		statefulSets: map[string]*appsv1.StatefulSet{},
		hpas:         map[string]*autoscalingv2.HorizontalPodAutoscaler{},
		pdbs:         map[string]*policyv1.PodDisruptionBudget{},
	}
	for _, res := range resMap.Resources() {
		doc, err := res.AsYAML()
		if err != nil {
			return nil, err
		}
		if err := m.add(doc); err != nil {
			return nil, fmt.Errorf("%w\n---\n%s", err, doc)
		}
	}
	return m, nil
}

// header is what every object starts with.
type header struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
}

// add decodes one object into the type its apiVersion and kind name. Only the API versions listed
// here are accepted: an object of any other kind or version fails the build.
func (m *manifests) add(doc []byte) error {
	var h header
	if err := yaml.Unmarshal(doc, &h); err != nil {
		return err
	}
	var err error
	switch h.APIVersion + " " + h.Kind {
	case "v1 Namespace":
		err = decodeInto(doc, h.Metadata.Name, m.namespaces)
	case "v1 ServiceAccount":
		err = decodeInto(doc, h.Metadata.Name, m.accounts)
	case "rbac.authorization.k8s.io/v1 Role":
		err = decodeInto(doc, h.Metadata.Name, m.roles)
	case "rbac.authorization.k8s.io/v1 RoleBinding":
		err = decodeInto(doc, h.Metadata.Name, m.bindings)
	case "v1 ConfigMap":
		err = decodeInto(doc, h.Metadata.Name, m.configMaps)
	case "v1 Service":
		err = decodeInto(doc, h.Metadata.Name, m.services)
	case "apps/v1 Deployment":
		err = decodeInto(doc, h.Metadata.Name, m.deployments)
	case "apps/v1 StatefulSet":
		err = decodeInto(doc, h.Metadata.Name, m.statefulSets)
	case "autoscaling/v2 HorizontalPodAutoscaler":
		err = decodeInto(doc, h.Metadata.Name, m.hpas)
	case "policy/v1 PodDisruptionBudget":
		err = decodeInto(doc, h.Metadata.Name, m.pdbs)
	default:
		return fmt.Errorf("unexpected object %s %s %s: add its type to the test", h.APIVersion, h.Kind, h.Metadata.Name)
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", h.Kind, h.Metadata.Name, err)
	}
	m.ids = append(m.ids, fmt.Sprintf("%s %s %s/%s", h.APIVersion, h.Kind, h.Metadata.Namespace, h.Metadata.Name))
	return nil
}

// decodeInto decodes doc strictly into a new T and stores it under name; a second object of the
// same kind and name is an error.
func decodeInto[T any](doc []byte, name string, into map[string]*T) error {
	obj := new(T)
	if err := decodeStrict(doc, obj); err != nil {
		return err
	}
	if _, dup := into[name]; dup {
		return fmt.Errorf("duplicate name %q", name)
	}
	into[name] = obj
	return nil
}

// decodeStrict fails on a field the type does not have (a misspelt or misplaced key, which the API
// server would drop or reject) and on a key given twice.
func decodeStrict(doc []byte, obj any) error {
	return yaml.UnmarshalStrict(doc, obj)
}

func TestStrictDecodingRejectsUnknownFields(t *testing.T) {
	for name, doc := range map[string]string{
		"misspelt field":  "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replica: 2\n",
		"misplaced field": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n      containers:\n        - name: c\n          port: 4317\n",
		"duplicate key":   "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  clusterIP: None\n  clusterIP: 10.0.0.1\n",
	} {
		t.Run(name, func(t *testing.T) {
			m := &manifests{deployments: map[string]*appsv1.Deployment{}, services: map[string]*corev1.Service{}}
			if err := m.add([]byte(doc)); err == nil {
				t.Fatalf("decoded without error:\n%s", doc)
			}
		})
	}
	m := &manifests{namespaces: map[string]*corev1.Namespace{}}
	if err := m.add([]byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: ok}\n")); err != nil {
		t.Fatalf("a valid object failed: %v", err)
	}
	if err := m.add([]byte("apiVersion: apps/v1beta1\nkind: Deployment\nmetadata: {name: old}\n")); err == nil {
		t.Fatal("an object of an unexpected API version was accepted")
	}
}

// TestRenderedObjects pins the set of objects the kustomization produces: the contract's names,
// all in one namespace.
func TestRenderedObjects(t *testing.T) {
	m := render(t)
	want := []string{
		"v1 Namespace /" + namespace,
		"v1 ServiceAccount " + namespace + "/" + routerName,
		"rbac.authorization.k8s.io/v1 Role " + namespace + "/" + routerName,
		"rbac.authorization.k8s.io/v1 RoleBinding " + namespace + "/" + routerName,
		"v1 Service " + namespace + "/" + routerName,
		"v1 Service " + namespace + "/" + headlessName,
		"v1 Service " + namespace + "/" + jeevesName,
		"apps/v1 Deployment " + namespace + "/" + routerName,
		"apps/v1 StatefulSet " + namespace + "/" + jeevesName,
		"autoscaling/v2 HorizontalPodAutoscaler " + namespace + "/" + routerName,
		"policy/v1 PodDisruptionBudget " + namespace + "/" + routerName,
		"policy/v1 PodDisruptionBudget " + namespace + "/" + jeevesName,
	}
	got := map[string]bool{}
	configMaps := 0
	for _, id := range m.ids {
		if bytes.HasPrefix([]byte(id), []byte("v1 ConfigMap ")) {
			configMaps++
			continue
		}
		got[id] = true
	}
	for _, id := range want {
		if !got[id] {
			t.Errorf("missing object %s", id)
		}
		delete(got, id)
	}
	for id := range got {
		t.Errorf("unexpected object %s", id)
	}
	if configMaps != 2 {
		t.Errorf("rendered %d ConfigMaps, want 2 (the jeeves and router configs)", configMaps)
	}
	for _, cm := range m.configMaps {
		if cm.Namespace != namespace {
			t.Errorf("ConfigMap %s in namespace %q, want %q", cm.Name, cm.Namespace, namespace)
		}
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	cleanupBinary()
	os.Exit(code)
}

// overlayBase is how the overlay in docs/kubernetes.md names this kustomization.
const overlayBase = "../otelcol-jeeves/deploy/kubernetes"

// TestDocumentedOverlay renders the overlay docs/kubernetes.md shows (its first yaml block, with
// the base path pointed at this repository) and checks that it changes the image and Jaeger's
// address and nothing else.
func TestDocumentedOverlay(t *testing.T) {
	base := render(t)
	doc, err := os.ReadFile(filepath.Join(repoRoot, "docs", "kubernetes.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(doc), "```yaml\n")
	block, _, closed := strings.Cut(block, "```")
	if !ok || !closed || !strings.Contains(block, "  - "+overlayBase+"\n") {
		t.Fatalf("docs/kubernetes.md: no yaml block with the resource %s", overlayBase)
	}
	abs, err := filepath.Abs(kustomizeDir)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rel, err := filepath.Rel(dir, abs) // kustomize takes no absolute base paths
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(dedent(strings.Replace(block, overlayBase, rel, 1))), 0o600); err != nil {
		t.Fatal(err)
	}
	overlay, err := build(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(overlay.ids, base.ids) {
		t.Errorf("the overlay renders %v, the base %v", overlay.ids, base.ids)
	}
	for name, w := range base.workloads(t) {
		if img := collector(t, w).Image; img != "otelcol-jeeves:0.1.0" {
			t.Errorf("base %s image %q, want otelcol-jeeves:0.1.0 (the Dockerfile's image, as in configs/compose.yaml)", name, img)
		}
	}
	for name, w := range overlay.workloads(t) {
		c := collector(t, w)
		if c.Image != "registry.example.com/jeeves/otelcol-jeeves:0.1.0" {
			t.Errorf("overlay %s image %q", name, c.Image)
		}
		baseEnv := podEnv(t, collector(t, base.workloads(t)[name]))
		env := podEnv(t, c)
		if name == jeevesName {
			if env["JAEGER_OTLP_ENDPOINT"] != "jaeger-collector.tracing:4317" {
				t.Errorf("overlay JAEGER_OTLP_ENDPOINT %q", env["JAEGER_OTLP_ENDPOINT"])
			}
			env["JAEGER_OTLP_ENDPOINT"] = baseEnv["JAEGER_OTLP_ENDPOINT"]
		}
		if !mapsEqual(env, baseEnv) {
			t.Errorf("overlay %s env %v, base %v: the patch must change one variable", name, env, baseEnv)
		}
	}
}

// dedent removes the indentation of the block's first line from every line (the doc indents the
// block inside a list item).
func dedent(block string) string {
	lines := strings.Split(block, "\n")
	indent := len(lines[0]) - len(strings.TrimLeft(lines[0], " "))
	for i, l := range lines {
		if len(l) >= indent && strings.TrimSpace(l[:indent]) == "" {
			lines[i] = l[indent:]
		}
	}
	return strings.Join(lines, "\n")
}
