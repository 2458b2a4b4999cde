package configs

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

// The plan's "under 5 minutes to detect": a critical alert must reach Alertmanager's receiver within
// this long of its condition starting.
const detectTarget = 5 * time.Minute

const (
	runbookBase = "https://github.com/jeeves/otelcol-jeeves/blob/main/docs/runbooks/"
	runbookDir  = "../../docs/runbooks"
)

type rulesFile struct {
	Groups []struct {
		Name     string      `yaml:"name"`
		Interval string      `yaml:"interval"`
		Rules    []ruleEntry `yaml:"rules"`
	} `yaml:"groups"`
}

// alertRule is one alerting rule with the evaluation interval of its group.
type alertRule struct {
	Name, Expr, Severity, Group string
	For, Eval                   time.Duration
	Annotations                 map[string]string
}

// ruleSet is every rule of the committed rule files: the alerts, and the recording rules by name.
type ruleSet struct {
	alerts  []alertRule
	records map[string][]recorded // record name → its rules (one per SLO)
}

// recorded is one recording rule: its expression, group and the group's evaluation interval.
type recorded struct {
	expr, group string
	eval        time.Duration
}

func dur(t *testing.T, what, s string, def time.Duration) time.Duration {
	t.Helper()
	if s == "" {
		return def
	}
	d, err := model.ParseDuration(s)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return time.Duration(d)
}

func readYAML(t *testing.T, rel string, into any) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, into); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
}

// timing is what the committed configs say about when samples arrive, rules run and Alertmanager
// sends: scrape interval of the collector jobs, evaluation interval, the collector's metrics flush
// interval, and group_wait per severity.
type timing struct {
	scrape, eval, flush time.Duration
	groupWait           map[string]time.Duration
}

type promConfig struct {
	Global struct {
		ScrapeInterval     string `yaml:"scrape_interval"`
		EvaluationInterval string `yaml:"evaluation_interval"`
	} `yaml:"global"`
	RuleFiles     []string `yaml:"rule_files"`
	ScrapeConfigs []struct {
		JobName        string `yaml:"job_name"`
		ScrapeInterval string `yaml:"scrape_interval"`
	} `yaml:"scrape_configs"`
}

func committedTiming(t *testing.T) timing {
	var cfg promConfig
	readYAML(t, "prometheus/prometheus.yml", &cfg)
	// Prometheus' defaults when the file says nothing.
	global := dur(t, "global.scrape_interval", cfg.Global.ScrapeInterval, time.Minute)
	tm := timing{
		eval:      dur(t, "global.evaluation_interval", cfg.Global.EvaluationInterval, time.Minute),
		flush:     flushInterval(t),
		groupWait: map[string]time.Duration{},
	}
	found := map[string]bool{}
	for _, sc := range cfg.ScrapeConfigs {
		if sc.JobName != "otelcol-jeeves" && sc.JobName != "otelcol-jeeves-self" && sc.JobName != "otelcol-jeeves-router" {
			continue
		}
		found[sc.JobName] = true
		// The slowest of the collector and router jobs bounds every alert (the jeeves_* and
		// otelcol_* series).
		tm.scrape = max(tm.scrape, dur(t, sc.JobName+".scrape_interval", sc.ScrapeInterval, global))
	}
	if !found["otelcol-jeeves"] || !found["otelcol-jeeves-self"] {
		t.Fatalf("prometheus.yml lacks the otelcol-jeeves or otelcol-jeeves-self job: %v", found)
	}
	var am struct {
		Route amRoute `yaml:"route"`
	}
	readYAML(t, "alertmanager/alertmanager.yml", &am)
	for _, sev := range []string{"critical", "warning", "info"} {
		tm.groupWait[sev] = groupWait(t, am.Route, sev)
	}
	return tm
}

// committedRuleFiles reads the rule files prometheus.yml loads (rule_files, globs relative to it).
func committedRuleFiles(t *testing.T) []rulesFile {
	var cfg promConfig
	readYAML(t, "prometheus/prometheus.yml", &cfg)
	var files []rulesFile
	for _, pattern := range cfg.RuleFiles {
		matches, err := filepath.Glob(filepath.Join(root, "prometheus", pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range matches {
			rel, err := filepath.Rel(root, m)
			if err != nil {
				t.Fatal(err)
			}
			var rf rulesFile
			readYAML(t, rel, &rf)
			files = append(files, rf)
		}
	}
	if len(files) == 0 {
		t.Fatalf("prometheus.yml rule_files %v match no file", cfg.RuleFiles)
	}
	return files
}

type amRoute struct {
	Receiver  string            `yaml:"receiver"`
	GroupWait string            `yaml:"group_wait"`
	Matchers  []string          `yaml:"matchers"`
	Match     map[string]string `yaml:"match"`
	Routes    []amRoute         `yaml:"routes"`
}

// groupWait is the group_wait Alertmanager applies to a new alert with the given severity: that of
// the deepest route it matches (a route inherits its parent's), Alertmanager's 30s by default.
func groupWait(t *testing.T, root amRoute, severity string) time.Duration {
	wait := dur(t, "route.group_wait", root.GroupWait, 30*time.Second)
	routes := root.Routes
	for {
		var next *amRoute
		for i := range routes {
			if routeMatchesSeverity(routes[i], severity) {
				next = &routes[i]
				break
			}
		}
		if next == nil {
			return wait
		}
		wait = dur(t, "group_wait of the "+severity+" route", next.GroupWait, wait)
		routes = next.Routes
	}
}

func routeMatchesSeverity(r amRoute, severity string) bool {
	if len(r.Matchers) == 0 && len(r.Match) == 0 {
		return false
	}
	for k, v := range r.Match {
		if k != "severity" || v != severity {
			return false
		}
	}
	for _, m := range r.Matchers {
		name, value, ok := strings.Cut(strings.ReplaceAll(m, " ", ""), "=")
		if !ok || name != "severity" || strings.Trim(value, `"`) != severity {
			return false
		}
	}
	return true
}

// flushInterval is the default metrics.flush_interval of the connector and the CommBus receiver in
// the committed collector config: a jeeves_* count reaches :8889 up to this long after its span.
func flushInterval(t *testing.T) time.Duration {
	raw, err := os.ReadFile(filepath.Join(root, "otelcol-jeeves.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`flush_interval: \$\{env:JEEVES_METRICS_FLUSH_INTERVAL:-(\w+)\}`).FindAllSubmatch(raw, -1)
	if len(m) == 0 {
		t.Fatal("otelcol-jeeves.yaml: no metrics flush_interval found")
	}
	var longest time.Duration
	for _, s := range m {
		longest = max(longest, dur(t, "flush_interval", string(s[1]), 0))
	}
	return longest
}

func loadRules(t *testing.T, tm timing, files []rulesFile) ruleSet {
	rs := ruleSet{records: map[string][]recorded{}}
	for _, rf := range files {
		for _, g := range rf.Groups {
			eval := dur(t, g.Name+".interval", g.Interval, tm.eval)
			for _, r := range g.Rules {
				if r.Record != "" {
					rs.records[r.Record] = append(rs.records[r.Record], recorded{expr: r.Expr, group: g.Name, eval: eval})
					continue
				}
				rs.alerts = append(rs.alerts, alertRule{
					Name: r.Alert, Expr: r.Expr, Severity: r.Labels["severity"], Group: g.Name,
					For: dur(t, r.Alert+".for", r.For, 0), Eval: eval, Annotations: r.Annotations,
				})
			}
		}
	}
	if len(rs.alerts) == 0 {
		t.Fatal("no alerts in the rule files")
	}
	return rs
}

var (
	rangeRE    = regexp.MustCompile(`\[(\d+[smhdwy])(?::\d*[smhdwy]?)?\]`)
	bracketRE  = regexp.MustCompile(`\[[^\]]*\]|\{[^}]*\}|"[^"]*"`)
	recordedRE = regexp.MustCompile(`\b[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z0-9_:]+`)
	jeevesRE   = regexp.MustCompile(`\bjeeves_[a-z0-9_]+`)
)

// alternatives splits an expression at its top-level `or`: the alert fires when any of them holds.
func alternatives(expr string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(expr); i++ {
		switch expr[i] {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		case 'o':
			if depth == 0 && strings.HasPrefix(expr[i:], "or") && i > 0 && isSpace(expr[i-1]) && i+2 < len(expr) && isSpace(expr[i+2]) {
				out = append(out, expr[start:i])
				start = i + 2
			}
		}
	}
	return append(out, expr[start:])
}

func isSpace(b byte) bool { return b == ' ' || b == '\n' || b == '\t' }

// lag is how long an expression needs before it reflects a condition in full: its longest range
// selector (a condition just over the threshold must fill the whole window), following recorded
// series into the rules that record them; hops adds up to one evaluation interval per recording rule
// on the way that runs in another group (groups run independently; a rule earlier in the same group
// has run in the same evaluation); flush says whether a jeeves_* family flushed by the collector
// feeds it.
type lag struct {
	window time.Duration
	hops   time.Duration // sum of the evaluation intervals of the recording rules in the way
	flush  bool
}

func (rs ruleSet) lagOf(t *testing.T, expr, group string) lag {
	var l lag
	for _, m := range rangeRE.FindAllStringSubmatch(expr, -1) {
		l.window = max(l.window, dur(t, "range", m[1], 0))
	}
	bare := bracketRE.ReplaceAllString(expr, "")
	for _, name := range jeevesRE.FindAllString(recordedRE.ReplaceAllString(bare, ""), -1) {
		// The DB pool gauges are pushed by the services themselves (OTLP metrics), not flushed by
		// the collector; their export interval is the service's.
		if !strings.HasPrefix(name, "jeeves_db_pool_") {
			l.flush = true
		}
	}
	for _, name := range recordedRE.FindAllString(bare, -1) {
		recs, ok := rs.records[name]
		if !ok {
			t.Errorf("expression reads %s, which no rule records", name)
			continue
		}
		// A generated burn-rate alert reads its own SLO's ratios, recorded earlier in its group
		// (the other SLOs' rules of the same name are filtered out by its slo="…" selector).
		var same []recorded
		for _, r := range recs {
			if r.group == group {
				same = append(same, r)
			}
		}
		if len(same) > 0 {
			recs = same
		}
		for _, r := range recs {
			sub := rs.lagOf(t, r.expr, r.group)
			if r.group != group {
				sub.hops += r.eval
			}
			l.window = max(l.window, sub.window)
			l.hops = max(l.hops, sub.hops)
			l.flush = l.flush || sub.flush
		}
	}
	return l
}

func (l lag) total() time.Duration { return l.window + l.hops }

// notifyTime is an alert's worst-case time from its condition starting to Alertmanager sending the
// notification: the sample showing it is scraped up to one scrape interval late (and a jeeves_*
// count reaches :8889 up to one flush interval after its span), the expression needs its window
// (for an `or`, the fastest alternative), then `for`, then up to one evaluation interval per rule on
// the way, then Alertmanager's group_wait for a new group.
type notifyTime struct {
	scrape, flush, window, forDur, eval, groupWait time.Duration
}

func (n notifyTime) total() time.Duration {
	return n.scrape + n.flush + n.window + n.forDur + n.eval + n.groupWait
}

func (n notifyTime) String() string {
	s := fmt.Sprintf("scrape %s", model.Duration(n.scrape))
	if n.flush > 0 {
		s += fmt.Sprintf(" + collector flush %s", model.Duration(n.flush))
	}
	if n.window > 0 {
		s += fmt.Sprintf(" + window %s", model.Duration(n.window))
	}
	if n.forDur > 0 {
		s += fmt.Sprintf(" + for %s", model.Duration(n.forDur))
	}
	return s + fmt.Sprintf(" + evaluation %s + group_wait %s", model.Duration(n.eval), model.Duration(n.groupWait))
}

// notifyTimes computes the worst case of every alert of the committed files.
func notifyTimes(t *testing.T) (map[string]notifyTime, map[string]alertRule) {
	return computeNotifyTimes(t, committedTiming(t), committedRuleFiles(t))
}

// computeNotifyTimes computes the worst case of every alert name (the largest over its rules).
func computeNotifyTimes(t *testing.T, tm timing, files []rulesFile) (map[string]notifyTime, map[string]alertRule) {
	rs := loadRules(t, tm, files)
	times := map[string]notifyTime{}
	rules := map[string]alertRule{}
	for _, a := range rs.alerts {
		var fastest *lag
		for _, alt := range alternatives(a.Expr) {
			l := rs.lagOf(t, alt, a.Group)
			if fastest == nil || l.total() < fastest.total() {
				fastest = &l
			}
		}
		wait, ok := tm.groupWait[a.Severity]
		if !ok {
			t.Errorf("%s: no group_wait known for severity %q", a.Name, a.Severity)
		}
		n := notifyTime{scrape: tm.scrape, window: fastest.window, forDur: a.For, eval: a.Eval + fastest.hops, groupWait: wait}
		if fastest.flush {
			n.flush = tm.flush
		}
		if old, ok := times[a.Name]; !ok || n.total() > old.total() {
			times[a.Name] = n
			rules[a.Name] = a
		}
	}
	return times, rules
}

// isBudgetAlert: the SLO burn-rate alerts read the recorded error ratios. They page on how fast the
// 30-day budget goes, not on an incident's start: a burn just over 14.4× has to last the whole hour
// before it has spent 2% of the budget, so their worst case is the long window by design. The
// 5-minute target is held by the incident alerts (collector down, LLM provider failing). The LLM
// daily budget alert is one too: spend just over budget/24 h needs the whole 24 h window.
func isBudgetAlert(a alertRule) bool {
	return strings.Contains(a.Expr, "jeeves_slo:error_ratio:") || strings.Contains(a.Expr, "jeeves_llm_daily_budget_usd")
}

// Every critical alert that pages on an incident notifies within 5 minutes of it starting, computed
// from the committed Prometheus, Alertmanager and collector configs.
func TestCriticalAlertsNotifyWithinFiveMinutes(t *testing.T) {
	times, rules := notifyTimes(t)
	incident := 0
	for name, n := range times {
		a := rules[name]
		if a.Severity != "critical" {
			continue
		}
		t.Logf("%s: %s (%s)", name, model.Duration(n.total()), n)
		if isBudgetAlert(a) {
			continue
		}
		incident++
		if n.total() > detectTarget {
			t.Errorf("%s notifies up to %s after its condition starts (%s), over the %s target", name, model.Duration(n.total()), n, model.Duration(detectTarget))
		}
	}
	for _, want := range []string{"OtelcolJeevesDown", "JeevesLLMProviderErrorRatioHigh"} {
		if rules[want].Severity != "critical" {
			t.Errorf("%s is not a critical alert", want)
		}
	}
	if incident == 0 {
		t.Fatal("no critical incident alert checked")
	}
}

// The computation on fixed inputs, checked by hand: the fastest `or` branch, a recorded series from
// another group (one more evaluation) or from the same group (none), the collector flush for
// jeeves_* families but not for the pushed DB pool gauges, group_wait by severity.
func TestNotifyTimeComputation(t *testing.T) {
	var rf rulesFile
	if err := yaml.Unmarshal([]byte(`
groups:
  - name: recorded
    interval: 1m
    rules:
      - record: x:ratio:rate10m
        expr: sum(rate(jeeves_a_total[10m]))
  - name: alerts
    rules:
      - alert: Plain
        expr: up == 0
        for: 1m
        labels: {severity: critical}
      - alert: FastestBranch
        expr: rate(otelcol_x[5m]) > 0 or max_over_time(otelcol_y[2m:30s]) > 0
        for: 3m
        labels: {severity: warning}
      - alert: FromAnotherGroup
        expr: x:ratio:rate10m > 0.1
        labels: {severity: info}
  - name: same
    rules:
      - record: y:ratio:rate1h
        expr: sum(rate(jeeves_db_pool_size{le=~"5(\\.0)?"}[1h]))
      - alert: SameGroup
        expr: y:ratio:rate1h > 1
        labels: {severity: critical}
`), &rf); err != nil {
		t.Fatal(err)
	}
	tm := timing{scrape: 30 * time.Second, eval: 20 * time.Second, flush: 10 * time.Second,
		groupWait: map[string]time.Duration{"critical": 5 * time.Second, "warning": time.Minute, "info": 2 * time.Minute}}
	times, _ := computeNotifyTimes(t, tm, []rulesFile{rf})
	for name, want := range map[string]string{
		"Plain":            "1m55s", // scrape 30s + for 1m + evaluation 20s + group_wait 5s
		"FastestBranch":    "6m50s", // scrape 30s + window 2m (not 5m) + for 3m + evaluation 20s + group_wait 1m
		"FromAnotherGroup": "14m",   // scrape 30s + flush 10s + window 10m + evaluation 20s + 1m + group_wait 2m
		"SameGroup":        "1h55s", // scrape 30s + window 1h + evaluation 20s + group_wait 5s
	} {
		if got := model.Duration(times[name].total()).String(); got != want {
			t.Errorf("%s: %s (%s), want %s", name, got, times[name], want)
		}
	}
}

// group_wait of the route an alert of each severity takes, inherited from the parent when unset.
func TestGroupWaitBySeverity(t *testing.T) {
	var cfg struct {
		Route amRoute `yaml:"route"`
	}
	if err := yaml.Unmarshal([]byte(`
route:
  receiver: default
  group_wait: 45s
  routes:
    - matchers: ['severity="critical"']
      group_wait: 10s
      routes:
        - matchers: ['team="db"']
          group_wait: 1s
    - match: {severity: warning}
`), &cfg); err != nil {
		t.Fatal(err)
	}
	for sev, want := range map[string]time.Duration{"critical": 10 * time.Second, "warning": 45 * time.Second, "info": 45 * time.Second} {
		if got := groupWait(t, cfg.Route, sev); got != want {
			t.Errorf("%s: group_wait %s, want %s", sev, got, want)
		}
	}
}

var indexRowRE = regexp.MustCompile(`(?m)^\| \[(\w+)\]\(\w+\.md\) \| (\w+) \| ([0-9smhdw]+)`)

var notifyLineRE = regexp.MustCompile(`Worst-case time to notify: \*\*([0-9smhdw]+)\*\*`)

// Every alert, in both rule files, links its runbook, the runbook exists, and it states the alert's
// worst-case time to notify as computed here.
func TestRunbooks(t *testing.T) {
	times, rules := notifyTimes(t)
	names := make([]string, 0, len(rules))
	for name := range rules {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		a := rules[name]
		if got, want := a.Annotations["runbook_url"], runbookBase+name+".md"; got != want {
			t.Errorf("%s: runbook_url %q, want %q", name, got, want)
		}
		raw, err := os.ReadFile(filepath.Join(runbookDir, name+".md"))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		text := string(raw)
		for _, section := range []string{"## What it means", "## Confirm", "## What to do"} {
			if !strings.Contains(text, section) {
				t.Errorf("%s.md lacks a %q section", name, section)
			}
		}
		m := notifyLineRE.FindStringSubmatch(text)
		want := model.Duration(times[name].total()).String()
		switch {
		case m == nil:
			t.Errorf("%s.md does not state its worst-case time to notify (want **%s**: %s)", name, want, times[name])
		case m[1] != want:
			t.Errorf("%s.md states %s as its worst-case time to notify, the committed files give %s (%s)", name, m[1], want, times[name])
		}
	}
	// The index lists every alert with the same severity and time.
	index, err := os.ReadFile(filepath.Join(runbookDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, m := range indexRowRE.FindAllStringSubmatch(string(index), -1) {
		name, severity, took := m[1], m[2], m[3]
		listed[name] = true
		if a, ok := rules[name]; !ok {
			t.Errorf("runbooks/README.md lists %s, which is no alert", name)
		} else if want := model.Duration(times[name].total()).String(); severity != a.Severity || took != want {
			t.Errorf("runbooks/README.md: %s | %s | %s, want %s | %s", name, severity, took, a.Severity, want)
		}
	}
	for _, name := range names {
		if !listed[name] {
			t.Errorf("runbooks/README.md does not list %s", name)
		}
	}
	entries, err := os.ReadDir(runbookDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if name := strings.TrimSuffix(e.Name(), ".md"); name != "README" {
			if _, ok := rules[name]; !ok {
				t.Errorf("docs/runbooks/%s has no alert", e.Name())
			}
		}
	}
}

type ruleEntry = struct {
	Record      string            `yaml:"record"`
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

func rulesOf(f rulesFile) []ruleEntry {
	var out []ruleEntry
	for _, g := range f.Groups {
		out = append(out, g.Rules...)
	}
	return out
}
