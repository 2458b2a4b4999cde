package kubernetes

import (
	"slices"
	"sort"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// workload is a Deployment or StatefulSet reduced to what the checks need.
type workload struct {
	kind     string
	name     string
	selector *metav1.LabelSelector
	template corev1.PodTemplateSpec
}

func (m *manifests) workloads(t *testing.T) map[string]workload {
	t.Helper()
	router, ok := m.deployments[routerName]
	if !ok {
		t.Fatalf("no Deployment %s", routerName)
	}
	jeeves, ok := m.statefulSets[jeevesName]
	if !ok {
		t.Fatalf("no StatefulSet %s", jeevesName)
	}
	return map[string]workload{
		routerName: {"Deployment", routerName, router.Spec.Selector, router.Spec.Template},
		jeevesName: {"StatefulSet", jeevesName, jeeves.Spec.Selector, jeeves.Spec.Template},
	}
}

// collector returns the workload's collector container; there must be exactly one container.
func collector(t *testing.T, w workload) corev1.Container {
	t.Helper()
	cs := w.template.Spec.Containers
	if len(cs) != 1 || cs[0].Name != "otelcol-jeeves" {
		t.Fatalf("%s %s: want one container named otelcol-jeeves, got %d", w.kind, w.name, len(cs))
	}
	return cs[0]
}

// containerPort resolves a port given by number or by name against the container's ports.
func containerPort(c corev1.Container, p intstr.IntOrString) (int32, bool) {
	for _, cp := range c.Ports {
		if (p.Type == intstr.String && cp.Name == p.StrVal) || (p.Type == intstr.Int && cp.ContainerPort == p.IntVal) {
			return cp.ContainerPort, true
		}
	}
	return 0, false
}

func namedPort(t *testing.T, c corev1.Container, name string) int32 {
	t.Helper()
	port, ok := containerPort(c, intstr.FromString(name))
	if !ok {
		t.Fatalf("container has no port named %q", name)
	}
	return port
}

func selectorMatches(t *testing.T, sel *metav1.LabelSelector, podLabels map[string]string) bool {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Fatalf("selector %v: %v", sel, err)
	}
	return !s.Empty() && s.Matches(labels.Set(podLabels))
}

// matching returns the workloads whose pods a selector picks.
func matching(t *testing.T, ws map[string]workload, sel *metav1.LabelSelector) []string {
	t.Helper()
	var names []string
	for name, w := range ws {
		if selectorMatches(t, sel, w.template.Labels) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

func TestWorkloadSelectorsMatchTheirPods(t *testing.T) {
	ws := render(t).workloads(t)
	for name, w := range ws {
		if got := matching(t, ws, w.selector); !slices.Equal(got, []string{name}) {
			t.Errorf("%s %s: selector %v picks the pods of %v, want only its own", w.kind, name, w.selector.MatchLabels, got)
		}
	}
}

// TestServices: each Service selects the pods of exactly one workload, and each of its ports
// targets a port that container declares.
func TestServices(t *testing.T) {
	m := render(t)
	ws := m.workloads(t)
	want := map[string]struct {
		workload string
		ports    map[string]int32 // Service port name → port
		headless bool
	}{
		routerName:   {routerName, map[string]int32{"otlp-grpc": 4317, "otlp-http": 4318}, false},
		headlessName: {jeevesName, map[string]int32{"otlp-grpc": 4317}, true},
		// OTLP metrics and logs of Jeeves services (the router routes traces only).
		jeevesName: {jeevesName, map[string]int32{"otlp-grpc": 4317, "otlp-http": 4318}, false},
	}
	for name, w := range want {
		svc, ok := m.services[name]
		if !ok {
			t.Errorf("no Service %s", name)
			continue
		}
		got := matching(t, ws, &metav1.LabelSelector{MatchLabels: svc.Spec.Selector})
		if !slices.Equal(got, []string{w.workload}) {
			t.Errorf("Service %s selects the pods of %v, want %s", name, got, w.workload)
			continue
		}
		c := collector(t, ws[w.workload])
		ports := map[string]int32{}
		for _, p := range svc.Spec.Ports {
			ports[p.Name] = p.Port
			target, ok := containerPort(c, p.TargetPort)
			if !ok {
				t.Errorf("Service %s port %s: targetPort %s is not a port of %s", name, p.Name, p.TargetPort.String(), w.workload)
				continue
			}
			if target != p.Port {
				t.Errorf("Service %s port %s: %d forwards to container port %d; keep them equal so the address is the same inside and outside the pod", name, p.Name, p.Port, target)
			}
		}
		if !mapsEqual(ports, w.ports) {
			t.Errorf("Service %s ports %v, want %v", name, ports, w.ports)
		}
		if headless := svc.Spec.ClusterIP == corev1.ClusterIPNone; headless != w.headless {
			t.Errorf("Service %s: clusterIP %q, headless want %v", name, svc.Spec.ClusterIP, w.headless)
		}
	}
	sts := m.statefulSets[jeevesName]
	if sts.Spec.ServiceName != headlessName {
		t.Errorf("StatefulSet %s serviceName %q, want %q (pods get their DNS names from it; the router's resolver returns them)", jeevesName, sts.Spec.ServiceName, headlessName)
	}
	if !m.services[headlessName].Spec.PublishNotReadyAddresses {
		t.Errorf("Service %s: publishNotReadyAddresses must be true so a restarted pod is addressable as soon as it listens", headlessName)
	}
}

// TestQueueVolume: the jeeves tier's persistent queue is a volume claim template mounted where
// JEEVES_STORAGE_DIR points.
func TestQueueVolume(t *testing.T) {
	m := render(t)
	sts := m.statefulSets[jeevesName]
	var claim *corev1.PersistentVolumeClaim
	for i := range sts.Spec.VolumeClaimTemplates {
		if sts.Spec.VolumeClaimTemplates[i].Name == queueClaim {
			claim = &sts.Spec.VolumeClaimTemplates[i]
		}
	}
	if claim == nil {
		t.Fatalf("StatefulSet %s has no volumeClaimTemplate %q", jeevesName, queueClaim)
	}
	if !slices.Equal(claim.Spec.AccessModes, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}) {
		t.Errorf("queue claim access modes %v, want [ReadWriteOnce]", claim.Spec.AccessModes)
	}
	if size := claim.Spec.Resources.Requests.Storage(); size.IsZero() {
		t.Error("queue claim requests no storage")
	}
	c := collector(t, m.workloads(t)[jeevesName])
	mounted := ""
	for _, vm := range c.VolumeMounts {
		if vm.Name == queueClaim {
			mounted = vm.MountPath
			if vm.ReadOnly {
				t.Error("queue volume mounted read-only")
			}
		}
	}
	if mounted != queueMountPath {
		t.Errorf("queue volume mounted at %q, want %q", mounted, queueMountPath)
	}
	if got := envValue(c, "JEEVES_STORAGE_DIR"); got != queueMountPath {
		t.Errorf("JEEVES_STORAGE_DIR = %q, want the queue mount %q", got, queueMountPath)
	}
	if sts.Spec.PersistentVolumeClaimRetentionPolicy == nil ||
		sts.Spec.PersistentVolumeClaimRetentionPolicy.WhenScaled != "Retain" ||
		sts.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted != "Retain" {
		t.Error("queue claims must be retained on scale-down and delete: they hold spans not yet in Jaeger")
	}
	if fsGroup := sts.Spec.Template.Spec.SecurityContext.FSGroup; fsGroup == nil || *fsGroup != *sts.Spec.Template.Spec.SecurityContext.RunAsUser {
		t.Error("the pod's fsGroup must be the collector's user, or the queue volume is not writable")
	}
}

// TestProbes: startup and liveness ask health_check (port health, path /), which ignores
// component status, so a backend outage never restarts a pod. Readiness asks healthcheckv2
// (port health-status, /status) where the config runs it, health_check otherwise (the router).
func TestProbes(t *testing.T) {
	m := render(t)
	for name, w := range m.workloads(t) {
		c := collector(t, w)
		cfg := mergedConfig(t, podConfigs(t, m, w)).expand(podEnv(t, c))
		readyPort, readyPath := "health", "/"
		if _, v2 := listeners(t, cfg)["health-status"]; v2 {
			readyPort, readyPath = "health-status", "/status"
		}
		for kind, p := range map[string]*corev1.Probe{"startup": c.StartupProbe, "liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
			if p == nil || p.HTTPGet == nil {
				t.Errorf("%s: no HTTP %s probe", name, kind)
				continue
			}
			wantPort, wantPath := "health", "/"
			if kind == "readiness" {
				wantPort, wantPath = readyPort, readyPath
			}
			want := namedPort(t, c, wantPort)
			port, ok := containerPort(c, p.HTTPGet.Port)
			if !ok || port != want {
				t.Errorf("%s: %s probe on port %s, want the %s port %d", name, kind, p.HTTPGet.Port.String(), wantPort, want)
			}
			if p.HTTPGet.Path != wantPath {
				t.Errorf("%s: %s probe path %q, want %s", name, kind, p.HTTPGet.Path, wantPath)
			}
		}
	}
}

func TestRouterHPA(t *testing.T) {
	m := render(t)
	hpa, ok := m.hpas[routerName]
	if !ok {
		t.Fatalf("no HorizontalPodAutoscaler %s", routerName)
	}
	ref := hpa.Spec.ScaleTargetRef
	if ref.APIVersion != "apps/v1" || ref.Kind != "Deployment" || ref.Name != routerName {
		t.Errorf("HPA targets %s %s %s, want apps/v1 Deployment %s", ref.APIVersion, ref.Kind, ref.Name, routerName)
	}
	if len(hpa.Spec.Metrics) != 1 || hpa.Spec.Metrics[0].Resource == nil || hpa.Spec.Metrics[0].Resource.Name != corev1.ResourceCPU {
		t.Errorf("HPA metrics %+v, want CPU only", hpa.Spec.Metrics)
	}
	if hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas < 2 || hpa.Spec.MaxReplicas < *hpa.Spec.MinReplicas {
		t.Errorf("HPA replicas min %v max %d: want at least 2, max ≥ min", hpa.Spec.MinReplicas, hpa.Spec.MaxReplicas)
	}
	// Utilization is relative to the CPU request; without one the HPA cannot compute it.
	c := collector(t, m.workloads(t)[routerName])
	if c.Resources.Requests.Cpu().IsZero() {
		t.Error("the router container has no CPU request: the HPA's utilization target needs one")
	}
	if len(m.hpas) != 1 {
		t.Errorf("%d HPAs: only the router scales automatically (docs/kubernetes.md#scaling)", len(m.hpas))
	}
}

func TestPodDisruptionBudgets(t *testing.T) {
	m := render(t)
	ws := m.workloads(t)
	for name := range ws {
		pdb, ok := m.pdbs[name]
		if !ok {
			t.Errorf("no PodDisruptionBudget %s", name)
			continue
		}
		if got := matching(t, ws, pdb.Spec.Selector); !slices.Equal(got, []string{name}) {
			t.Errorf("PodDisruptionBudget %s selects the pods of %v, want %s", name, got, name)
		}
		if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 {
			t.Errorf("PodDisruptionBudget %s: maxUnavailable %v, want 1", name, pdb.Spec.MaxUnavailable)
		}
	}
}

// TestRouterRBAC: the router's service account may get, list and watch EndpointSlices in the
// namespace (what the load_balancing exporter's k8s resolver does), and nothing more.
func TestRouterRBAC(t *testing.T) {
	m := render(t)
	w := m.workloads(t)[routerName]
	sa := w.template.Spec.ServiceAccountName
	if sa != routerName {
		t.Fatalf("router pods run as service account %q, want %q", sa, routerName)
	}
	if _, ok := m.accounts[sa]; !ok {
		t.Fatalf("no ServiceAccount %s", sa)
	}
	var roles []string
	for _, b := range m.bindings {
		for _, s := range b.Subjects {
			if s.Kind == "ServiceAccount" && s.Name == sa && s.Namespace == namespace {
				if b.RoleRef.Kind != "Role" || b.RoleRef.APIGroup != "rbac.authorization.k8s.io" {
					t.Errorf("RoleBinding %s binds %s %s, want a Role", b.Name, b.RoleRef.APIGroup, b.RoleRef.Kind)
				}
				roles = append(roles, b.RoleRef.Name)
			}
		}
	}
	if !slices.Equal(roles, []string{routerName}) {
		t.Fatalf("service account %s is bound to roles %v, want [%s]", sa, roles, routerName)
	}
	role, ok := m.roles[routerName]
	if !ok {
		t.Fatalf("no Role %s", routerName)
	}
	if role.Namespace != m.services[headlessName].Namespace {
		t.Errorf("Role in namespace %q, the resolver's Service in %q", role.Namespace, m.services[headlessName].Namespace)
	}
	if len(role.Rules) != 1 {
		t.Fatalf("Role %s has %d rules, want 1", routerName, len(role.Rules))
	}
	r := role.Rules[0]
	verbs := slices.Sorted(slices.Values(r.Verbs))
	if !slices.Equal(r.APIGroups, []string{"discovery.k8s.io"}) || !slices.Equal(r.Resources, []string{"endpointslices"}) ||
		!slices.Equal(verbs, []string{"get", "list", "watch"}) || len(r.ResourceNames) != 0 {
		t.Errorf("Role rule %+v, want get/list/watch on discovery.k8s.io endpointslices", r)
	}
	// The jeeves tier needs no API access at all.
	jeeves := m.workloads(t)[jeevesName].template.Spec
	if jeeves.AutomountServiceAccountToken == nil || *jeeves.AutomountServiceAccountToken {
		t.Error("jeeves pods mount a service account token they never use")
	}
}

func TestSecurityContext(t *testing.T) {
	for name, w := range render(t).workloads(t) {
		pod := w.template.Spec.SecurityContext
		if pod == nil || pod.RunAsNonRoot == nil || !*pod.RunAsNonRoot || pod.RunAsUser == nil || *pod.RunAsUser == 0 {
			t.Errorf("%s: the pod must run as a non-root user", name)
		}
		if pod == nil || pod.SeccompProfile == nil || pod.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("%s: seccomp profile must be RuntimeDefault", name)
		}
		c := collector(t, w).SecurityContext
		if c == nil || c.ReadOnlyRootFilesystem == nil || !*c.ReadOnlyRootFilesystem {
			t.Errorf("%s: root filesystem must be read-only", name)
		}
		if c == nil || c.AllowPrivilegeEscalation == nil || *c.AllowPrivilegeEscalation {
			t.Errorf("%s: privilege escalation must be off", name)
		}
		if c == nil || c.Capabilities == nil || !slices.Equal(c.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(c.Capabilities.Add) != 0 {
			t.Errorf("%s: capabilities must drop ALL and add none", name)
		}
	}
}

// TestResources: memory requested equals its limit (a collector that is evicted or OOM-killed
// under node pressure loses its buffered traces), and CPU is requested.
func TestResources(t *testing.T) {
	for name, w := range render(t).workloads(t) {
		r := collector(t, w).Resources
		if r.Limits.Memory().IsZero() || r.Requests.Memory().Cmp(*r.Limits.Memory()) != 0 {
			t.Errorf("%s: memory request %s must equal its limit %s", name, r.Requests.Memory(), r.Limits.Memory())
		}
		if r.Requests.Cpu().IsZero() || r.Limits.Cpu().Cmp(*r.Requests.Cpu()) < 0 {
			t.Errorf("%s: CPU request %s, limit %s: want a request no larger than the limit", name, r.Requests.Cpu(), r.Limits.Cpu())
		}
	}
}

func envValue(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

func mapsEqual[K comparable, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
