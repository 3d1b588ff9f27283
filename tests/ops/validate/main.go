// pavewatch-validate-manifests: a strict, offline validator of rendered Kubernetes manifests
// (the output of `helm template`), used by the ops_helm test instead of kubeconform, whose JSON
// schemas are not reachable from CI.
//
// Every YAML document is decoded STRICTLY (unknown or duplicate fields are errors) into the typed
// Go object of its apiVersion/kind, from k8s.io/api and prometheus-operator's monitoring/v1; a
// kind it does not know is an error too. Then it checks what a schema cannot see and what the
// API server would reject or what would silently not work: names, selectors that match their pod
// templates, references between objects (HPA and PDB targets, the StatefulSet's headless
// Service, Service target ports, ServiceMonitor selectors and ports, volumes and mounts, probe
// ports), and this project's policy for every container (resources requests and limits,
// non-root, read-only root filesystem, no privilege escalation, probes on long-running ones).
//
// With --rules FILE it also checks that every PrometheusRule's spec is FILE (the alert rules file
// promtool tests), runbook_url prefixed by --runbook-base; with --dashboards DIR, that the Grafana
// dashboard ConfigMaps hold exactly DIR/*.json, byte for byte, each once.
//
// Usage: pavewatch-validate-manifests [--rules FILE [--runbook-base URL]] [--dashboards DIR] [FILE...]
// (no FILE, or "-": standard input)
// Exit status: 0 valid, 1 invalid (each problem on stderr, naming the document), 2 usage/IO.
package main

import (
	"bufio"
	encjson "encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsyaml "sigs.k8s.io/yaml"
)

// document is one decoded manifest with where it came from.
type document struct {
	source string // "file: Kind/name" for messages
	obj    runtime.Object
	raw    map[string]any // the document as decoded JSON, for comparisons with source files
}

// podOwner is a workload whose pod template the cross-reference checks look at.
type podOwner struct {
	kind, name string
	labels     map[string]string
	spec       *corev1.PodSpec
	longLived  bool // probes are required (not a Job)
}

type validator struct {
	problems []string
}

func (v *validator) fail(where, format string, args ...any) {
	v.problems = append(v.problems, where+": "+fmt.Sprintf(format, args...))
}

func newScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		appsv1.AddToScheme, autoscalingv2.AddToScheme, batchv1.AddToScheme, corev1.AddToScheme,
		networkingv1.AddToScheme, policyv1.AddToScheme, rbacv1.AddToScheme, monitoringv1.AddToScheme,
	} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}

// splitDocuments returns the non-empty YAML documents of r.
func splitDocuments(r io.Reader) ([][]byte, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(r))
	var docs [][]byte
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		empty := true
		for _, line := range strings.Split(string(doc), "\n") {
			t := strings.TrimSpace(line)
			if t != "" && !strings.HasPrefix(t, "#") && t != "---" {
				empty = false
				break
			}
		}
		if !empty {
			docs = append(docs, doc)
		}
	}
}

func (v *validator) decode(scheme *runtime.Scheme, file string, index int, raw []byte) *document {
	where := fmt.Sprintf("%s: document %d", file, index+1)
	// Duplicate keys are errors here (YAMLToJSONStrict), unknown fields in the strict decoder.
	js, err := sigsyaml.YAMLToJSONStrict(raw)
	if err != nil {
		v.fail(where, "not valid YAML: %v", err)
		return nil
	}
	var tm metav1.TypeMeta
	if err := encjson.Unmarshal(js, &tm); err != nil || tm.APIVersion == "" || tm.Kind == "" {
		v.fail(where, "no apiVersion/kind")
		return nil
	}
	var meta struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	_ = encjson.Unmarshal(js, &meta)
	where = fmt.Sprintf("%s: %s/%s", file, tm.Kind, meta.Metadata.Name)
	serializer := json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme, scheme,
		json.SerializerOptions{Yaml: false, Pretty: false, Strict: true})
	obj, gvk, err := serializer.Decode(js, nil, nil)
	if err != nil {
		v.fail(where, "%s %s: %v", tm.APIVersion, tm.Kind, err)
		return nil
	}
	if gvk.Kind != tm.Kind {
		v.fail(where, "decoded as %s, not %s", gvk.Kind, tm.Kind)
		return nil
	}
	var generic map[string]any
	_ = encjson.Unmarshal(js, &generic)
	return &document{source: where, obj: obj, raw: generic}
}

func (v *validator) checkMeta(where string, m metav1.Object) {
	if m.GetName() == "" {
		v.fail(where, "metadata.name is empty")
	} else if errs := validation.IsDNS1123Subdomain(m.GetName()); len(errs) > 0 {
		v.fail(where, "metadata.name %q: %s", m.GetName(), strings.Join(errs, "; "))
	}
	for k, val := range m.GetLabels() {
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			v.fail(where, "label key %q: %s", k, strings.Join(errs, "; "))
		}
		if errs := validation.IsValidLabelValue(val); len(errs) > 0 {
			v.fail(where, "label %s=%q: %s", k, val, strings.Join(errs, "; "))
		}
	}
}

func (v *validator) checkSelector(where string, sel *metav1.LabelSelector, tmpl map[string]string) {
	if sel == nil {
		v.fail(where, "no selector")
		return
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		v.fail(where, "selector: %v", err)
		return
	}
	if s.Empty() {
		v.fail(where, "empty selector (would select everything)")
	}
	if !s.Matches(labels.Set(tmpl)) {
		v.fail(where, "selector %s does not match the pod template's labels %v", s, tmpl)
	}
}

// checkPodSpec checks one pod template against the project's policy and its own references.
func (v *validator) checkPodSpec(where string, spec *corev1.PodSpec, longLived bool, claims map[string]bool) {
	volumes := map[string]corev1.Volume{}
	for _, vol := range spec.Volumes {
		if _, dup := volumes[vol.Name]; dup {
			v.fail(where, "volume %q defined twice", vol.Name)
		}
		volumes[vol.Name] = vol
	}
	if spec.SecurityContext == nil || spec.SecurityContext.RunAsNonRoot == nil || !*spec.SecurityContext.RunAsNonRoot {
		v.fail(where, "pod securityContext.runAsNonRoot is not true")
	}
	if len(spec.Containers) == 0 {
		v.fail(where, "no containers")
	}
	names := map[string]bool{}
	all := append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...)
	for i, c := range all {
		cw := fmt.Sprintf("%s: container %q", where, c.Name)
		if errs := validation.IsDNS1123Label(c.Name); len(errs) > 0 {
			v.fail(cw, "name: %s", strings.Join(errs, "; "))
		}
		if names[c.Name] {
			v.fail(cw, "container name used twice")
		}
		names[c.Name] = true
		if c.Image == "" || strings.HasSuffix(c.Image, ":") {
			v.fail(cw, "image %q is empty or has an empty tag", c.Image)
		}
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			req, okReq := c.Resources.Requests[r]
			lim, okLim := c.Resources.Limits[r]
			if !okReq {
				v.fail(cw, "no %s request", r)
			}
			if r == corev1.ResourceMemory && !okLim {
				v.fail(cw, "no memory limit")
			}
			if okReq && okLim && req.Cmp(lim) > 0 {
				v.fail(cw, "%s request %s exceeds its limit %s", r, req.String(), lim.String())
			}
		}
		sc := c.SecurityContext
		if sc == nil {
			v.fail(cw, "no securityContext")
		} else {
			if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
				v.fail(cw, "readOnlyRootFilesystem is not true")
			}
			if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				v.fail(cw, "allowPrivilegeEscalation is not false")
			}
			if sc.Privileged != nil && *sc.Privileged {
				v.fail(cw, "privileged")
			}
			if sc.RunAsUser != nil && *sc.RunAsUser == 0 {
				v.fail(cw, "runs as uid 0")
			}
		}
		ports := map[string]int32{}
		for _, p := range c.Ports {
			if p.Name != "" {
				if errs := validation.IsValidPortName(p.Name); len(errs) > 0 {
					v.fail(cw, "port name %q: %s", p.Name, strings.Join(errs, "; "))
				}
				ports[p.Name] = p.ContainerPort
			}
		}
		for _, m := range c.VolumeMounts {
			if _, ok := volumes[m.Name]; !ok && !claims[m.Name] {
				v.fail(cw, "volumeMount %q names no volume", m.Name)
			}
		}
		for _, e := range c.Env {
			if errs := validation.IsEnvVarName(e.Name); len(errs) > 0 {
				v.fail(cw, "env %q: %s", e.Name, strings.Join(errs, "; "))
			}
		}
		isInit := i < len(spec.InitContainers)
		if longLived && !isInit {
			if c.LivenessProbe == nil {
				v.fail(cw, "no livenessProbe")
			}
			if c.ReadinessProbe == nil {
				v.fail(cw, "no readinessProbe")
			}
		}
		for kind, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe, "startup": c.StartupProbe} {
			if p == nil || p.HTTPGet == nil {
				continue
			}
			if p.HTTPGet.Port.Type == intstr.String {
				if _, ok := ports[p.HTTPGet.Port.StrVal]; !ok {
					v.fail(cw, "%s probe names port %q, which the container does not declare", kind, p.HTTPGet.Port.StrVal)
				}
			}
		}
	}
}

// expected files the rendered manifests must carry unchanged.
type expected struct {
	rules       string
	runbookBase string
	dashboards  string
}

// checkRules compares each PrometheusRule's spec with the rules file.
func (v *validator) checkRules(docs []*document, e expected) {
	raw, err := os.ReadFile(e.rules)
	if err != nil {
		v.fail(e.rules, "%v", err)
		return
	}
	js, err := sigsyaml.YAMLToJSONStrict(raw)
	if err != nil {
		v.fail(e.rules, "not valid YAML: %v", err)
		return
	}
	var want map[string]any
	if err := encjson.Unmarshal(js, &want); err != nil {
		v.fail(e.rules, "%v", err)
		return
	}
	groups, _ := want["groups"].([]any)
	for _, g := range groups {
		rules, _ := g.(map[string]any)["rules"].([]any)
		for _, r := range rules {
			if ann, ok := r.(map[string]any)["annotations"].(map[string]any); ok {
				if url, ok := ann["runbook_url"].(string); ok {
					ann["runbook_url"] = e.runbookBase + url
				}
			}
		}
	}
	found := 0
	for _, d := range docs {
		if _, ok := d.obj.(*monitoringv1.PrometheusRule); !ok {
			continue
		}
		found++
		if !reflect.DeepEqual(d.raw["spec"], any(want)) {
			got, _ := encjson.MarshalIndent(d.raw["spec"], "", " ")
			exp, _ := encjson.MarshalIndent(want, "", " ")
			v.fail(d.source, "spec differs from %s (runbook base %q): %s", e.rules, e.runbookBase, firstDifference(string(got), string(exp)))
		}
	}
	if found == 0 {
		v.fail(e.rules, "no PrometheusRule rendered")
	}
}

// firstDifference shows the lines around the first line where a and b differ.
func firstDifference(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d: rendered %q, file %q", i+1, strings.TrimSpace(x), strings.TrimSpace(y))
		}
	}
	return "(no line differs)"
}

// checkDashboards compares the dashboard ConfigMaps with the dashboard files.
func (v *validator) checkDashboards(docs []*document, e expected) {
	files, err := filepath.Glob(filepath.Join(e.dashboards, "*.json"))
	if err != nil || len(files) == 0 {
		v.fail(e.dashboards, "no *.json dashboards")
		return
	}
	rendered := map[string]string{}
	for _, d := range docs {
		cm, ok := d.obj.(*corev1.ConfigMap)
		if !ok || cm.Labels["grafana_dashboard"] == "" {
			continue
		}
		for key, value := range cm.Data {
			if _, dup := rendered[key]; dup {
				v.fail(d.source, "dashboard %s is rendered twice", key)
			}
			rendered[key] = value
		}
	}
	for _, f := range files {
		want, err := os.ReadFile(f)
		if err != nil {
			v.fail(f, "%v", err)
			continue
		}
		key := filepath.Base(f)
		got, ok := rendered[key]
		if !ok {
			v.fail(f, "no ConfigMap labelled grafana_dashboard holds %s", key)
			continue
		}
		if got != string(want) {
			v.fail(f, "the ConfigMap's %s differs from the file: %s", key, firstDifference(got, string(want)))
		}
		delete(rendered, key)
	}
	for key := range rendered {
		v.fail("ConfigMaps", "dashboard %s is not a file of %s", key, e.dashboards)
	}
}

func run(files []string, e expected) int {
	scheme := newScheme()
	v := &validator{}
	var docs []*document
	for _, f := range files {
		var r io.Reader
		if f == "-" {
			r = os.Stdin
		} else {
			fh, err := os.Open(f)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 2
			}
			defer fh.Close()
			r = fh
		}
		raw, err := splitDocuments(r)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", f, err)
			return 2
		}
		for i, d := range raw {
			if doc := v.decode(scheme, f, i, d); doc != nil {
				docs = append(docs, doc)
			}
		}
	}
	if len(docs) == 0 && len(v.problems) == 0 {
		v.fail("input", "no Kubernetes documents")
	}
	v.crossCheck(docs)
	if e.rules != "" {
		v.checkRules(docs, e)
	}
	if e.dashboards != "" {
		v.checkDashboards(docs, e)
	}
	if len(v.problems) > 0 {
		sort.Strings(v.problems)
		for _, p := range v.problems {
			fmt.Fprintln(os.Stderr, "invalid:", p)
		}
		fmt.Fprintf(os.Stderr, "%d problem(s) in %d document(s)\n", len(v.problems), len(docs))
		return 1
	}
	kinds := map[string]int{}
	for _, d := range docs {
		kinds[d.obj.GetObjectKind().GroupVersionKind().Kind]++
	}
	var parts []string
	for k, n := range kinds {
		parts = append(parts, fmt.Sprintf("%s=%d", k, n))
	}
	sort.Strings(parts)
	fmt.Printf("valid: %d documents (%s)\n", len(docs), strings.Join(parts, " "))
	return 0
}

// crossCheck validates each object and the references between them.
func (v *validator) crossCheck(docs []*document) {
	seen := map[string]string{}
	var owners []podOwner
	services := map[string]*corev1.Service{}
	var servicesList []*corev1.Service
	for _, d := range docs {
		m, ok := d.obj.(metav1.Object)
		if !ok {
			v.fail(d.source, "has no metadata")
			continue
		}
		key := d.obj.GetObjectKind().GroupVersionKind().Kind + "/" + m.GetName()
		if prev, dup := seen[key]; dup {
			v.fail(d.source, "%s is rendered twice (also %s)", key, prev)
		}
		seen[key] = d.source
		v.checkMeta(d.source, m)
		switch o := d.obj.(type) {
		case *appsv1.Deployment:
			v.checkSelector(d.source, o.Spec.Selector, o.Spec.Template.Labels)
			v.checkPodSpec(d.source, &o.Spec.Template.Spec, true, nil)
			owners = append(owners, podOwner{"Deployment", o.Name, o.Spec.Template.Labels, &o.Spec.Template.Spec, true})
		case *appsv1.StatefulSet:
			v.checkSelector(d.source, o.Spec.Selector, o.Spec.Template.Labels)
			claims := map[string]bool{}
			for _, c := range o.Spec.VolumeClaimTemplates {
				claims[c.Name] = true
				if _, ok := c.Spec.Resources.Requests[corev1.ResourceStorage]; !ok {
					v.fail(d.source, "volumeClaimTemplate %q requests no storage", c.Name)
				}
			}
			v.checkPodSpec(d.source, &o.Spec.Template.Spec, true, claims)
			owners = append(owners, podOwner{"StatefulSet", o.Name, o.Spec.Template.Labels, &o.Spec.Template.Spec, true})
		case *batchv1.Job:
			v.checkPodSpec(d.source, &o.Spec.Template.Spec, false, nil)
			if o.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever && o.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyOnFailure {
				v.fail(d.source, "a Job's restartPolicy must be Never or OnFailure")
			}
		case *corev1.Service:
			services[o.Name] = o
			servicesList = append(servicesList, o)
		case *corev1.ConfigMap:
			if o.Labels["grafana_dashboard"] != "" {
				for k, val := range o.Data {
					if !encjson.Valid([]byte(val)) {
						v.fail(d.source, "dashboard %q is not valid JSON", k)
					}
				}
			}
		}
	}
	// Services select pods, and their named target ports exist there.
	for _, s := range servicesList {
		where := "Service/" + s.Name
		if len(s.Spec.Selector) == 0 {
			v.fail(where, "no selector")
			continue
		}
		var selected []podOwner
		for _, o := range owners {
			if labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(o.labels)) {
				selected = append(selected, o)
			}
		}
		if len(selected) == 0 {
			v.fail(where, "selector %v matches no workload's pods", s.Spec.Selector)
		}
		for _, p := range s.Spec.Ports {
			if p.TargetPort.Type != intstr.String {
				continue
			}
			for _, o := range selected {
				if !hasPort(o.spec, p.TargetPort.StrVal) {
					v.fail(where, "targetPort %q is not a port of %s/%s", p.TargetPort.StrVal, o.kind, o.name)
				}
			}
		}
	}
	for _, d := range docs {
		switch o := d.obj.(type) {
		case *appsv1.StatefulSet:
			s, ok := services[o.Spec.ServiceName]
			if !ok {
				v.fail(d.source, "serviceName %q is not a rendered Service", o.Spec.ServiceName)
			} else if s.Spec.ClusterIP != corev1.ClusterIPNone {
				v.fail(d.source, "serviceName %q is not headless (clusterIP: None)", o.Spec.ServiceName)
			}
		case *autoscalingv2.HorizontalPodAutoscaler:
			ref := o.Spec.ScaleTargetRef
			if _, ok := seen[ref.Kind+"/"+ref.Name]; !ok {
				v.fail(d.source, "scaleTargetRef %s/%s is not rendered", ref.Kind, ref.Name)
			}
			if o.Spec.MinReplicas != nil && *o.Spec.MinReplicas > o.Spec.MaxReplicas {
				v.fail(d.source, "minReplicas %d > maxReplicas %d", *o.Spec.MinReplicas, o.Spec.MaxReplicas)
			}
			if len(o.Spec.Metrics) == 0 {
				v.fail(d.source, "no metrics")
			}
		case *policyv1.PodDisruptionBudget:
			sel, err := metav1.LabelSelectorAsSelector(o.Spec.Selector)
			if err != nil || sel.Empty() {
				v.fail(d.source, "missing or empty selector")
				continue
			}
			if o.Spec.MinAvailable != nil && o.Spec.MaxUnavailable != nil {
				v.fail(d.source, "both minAvailable and maxUnavailable are set")
			}
			matched := false
			for _, w := range owners {
				matched = matched || sel.Matches(labels.Set(w.labels))
			}
			if !matched {
				v.fail(d.source, "selector %s matches no workload's pods", sel)
			}
		case *monitoringv1.ServiceMonitor:
			sel, err := metav1.LabelSelectorAsSelector(&o.Spec.Selector)
			if err != nil || sel.Empty() {
				v.fail(d.source, "missing or empty selector")
				continue
			}
			var matched []*corev1.Service
			for _, s := range servicesList {
				if sel.Matches(labels.Set(s.Labels)) {
					matched = append(matched, s)
				}
			}
			if len(matched) == 0 {
				v.fail(d.source, "selector %s matches no rendered Service", sel)
			}
			for _, ep := range o.Spec.Endpoints {
				if ep.Port == "" {
					continue
				}
				found := false
				for _, s := range matched {
					for _, p := range s.Spec.Ports {
						found = found || p.Name == ep.Port
					}
				}
				if !found {
					v.fail(d.source, "endpoint port %q is not a port of the selected Services", ep.Port)
				}
			}
		case *monitoringv1.PrometheusRule:
			if len(o.Spec.Groups) == 0 {
				v.fail(d.source, "no rule groups")
			}
			for _, g := range o.Spec.Groups {
				for _, r := range g.Rules {
					if r.Alert != "" {
						if r.Annotations["runbook_url"] == "" {
							v.fail(d.source, "alert %s has no runbook_url", r.Alert)
						}
						if r.Labels["severity"] == "" {
							v.fail(d.source, "alert %s has no severity label", r.Alert)
						}
					}
					if r.Expr.String() == "" {
						v.fail(d.source, "a rule of group %s has no expr", g.Name)
					}
				}
			}
		}
	}
}

func hasPort(spec *corev1.PodSpec, name string) bool {
	for _, c := range spec.Containers {
		for _, p := range c.Ports {
			if p.Name == name {
				return true
			}
		}
	}
	return false
}

func main() {
	var e expected
	flag.StringVar(&e.rules, "rules", "", "alert rules file every PrometheusRule's spec must equal")
	flag.StringVar(&e.runbookBase, "runbook-base", "", "prefix the chart adds to the rules' runbook_url")
	flag.StringVar(&e.dashboards, "dashboards", "", "folder whose *.json the dashboard ConfigMaps must hold, byte for byte")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: pavewatch-validate-manifests [--rules FILE [--runbook-base URL]] [--dashboards DIR] [FILE...]")
		flag.PrintDefaults()
	}
	flag.Parse()
	files := flag.Args()
	if len(files) == 0 {
		files = []string{"-"}
	}
	os.Exit(run(files, e))
}
