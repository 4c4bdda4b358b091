package kubernetes

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
)

// check is one rule over the manifests; it returns every violation.
type check func(m *manifests, f commandFlags) []error

// namedCheck is a check with the name its subtest runs under.
type namedCheck struct {
	name string
	fn   check
}

// allChecks are the rules the manifests keep.
func allChecks() []namedCheck {
	return []namedCheck{
		{"objects", checkObjects},
		{"selectors", checkSelectors},
		{"services", checkServices},
		{"disruption budgets", checkPDBs},
		{"probes", checkProbes},
		{"references", checkReferences},
		{"flags and environment", checkFlags},
		{"addresses", checkAddresses},
		{"security", checkSecurity},
		{"shutdown", checkShutdown},
		{"drain hook", checkDrainHook},
		{"images", checkImages},
		{"example secrets", checkExampleSecrets},
	}
}

// appName is the app.kubernetes.io/name label of every object.
const appName = "chatha"

// checkObjects: names are valid, no object pins a namespace (the manifests
// go where kubectl -n puts them), every object carries the app label, and
// the parts of both layouts are there.
func checkObjects(m *manifests, _ commandFlags) []error {
	var errs []error
	seen := map[string]string{}
	for _, o := range m.meta {
		id := o.kind + " " + o.meta.Name
		for _, msg := range validation.IsDNS1123Subdomain(o.meta.Name) {
			errs = append(errs, fmt.Errorf("%s: %s: name: %s", o.file, id, msg))
		}
		if o.meta.Namespace != "" {
			errs = append(errs, fmt.Errorf("%s: %s sets namespace %q; the namespace comes from kubectl apply -n", o.file, id, o.meta.Namespace))
		}
		if o.meta.Labels["app.kubernetes.io/name"] != appName {
			errs = append(errs, fmt.Errorf("%s: %s has no label app.kubernetes.io/name: %s", o.file, id, appName))
		}
		if prev, ok := seen[id]; ok {
			errs = append(errs, fmt.Errorf("%s: %s is also defined in %s", o.file, id, prev))
		}
		seen[id] = o.file
	}
	for what, n := range map[string]int{
		"StatefulSet (chat nodes with sidecar proxies)": len(m.statefulSets),
		"Deployment (front-door proxies)":               len(m.deployments),
		"PodDisruptionBudget":                           len(m.pdbs),
		"headless Service (gossip join)":                len(m.headlessServices()),
		"ConfigMap (node config)":                       len(m.configMaps),
		"Secret":                                        len(m.secrets),
	} {
		if n == 0 {
			errs = append(errs, fmt.Errorf("the manifests have no %s", what))
		}
	}
	return errs
}

func (m *manifests) headlessServices() []*corev1.Service {
	var hs []*corev1.Service
	for _, s := range m.services {
		if s.Spec.ClusterIP == corev1.ClusterIPNone {
			hs = append(hs, s)
		}
	}
	return hs
}

// selectorOf turns a label selector into a Selector; a missing or empty
// one is an error, as it would select every pod of the namespace.
func selectorOf(ls *metav1.LabelSelector) (labels.Selector, error) {
	if ls == nil || (len(ls.MatchLabels) == 0 && len(ls.MatchExpressions) == 0) {
		return nil, errors.New("no selector (an empty one selects every pod)")
	}
	return metav1.LabelSelectorAsSelector(ls)
}

// selectedWorkloads returns the workloads whose pods sel selects.
func selectedWorkloads(ws []workload, sel labels.Selector) []workload {
	var out []workload
	for _, w := range ws {
		if sel.Matches(labels.Set(w.template.Labels)) {
			out = append(out, w)
		}
	}
	return out
}

// selectsOne returns the one workload whose pods sel selects.
func selectsOne(ws []workload, sel labels.Selector) (workload, error) {
	got := selectedWorkloads(ws, sel)
	if len(got) != 1 {
		return workload{}, fmt.Errorf("selector %s selects the pods of %d workloads %v, want exactly 1", sel, len(got), got)
	}
	return got[0], nil
}

// checkSelectors: each workload's selector selects its own pods and no
// other workload's, and so do its topology spread constraints.
func checkSelectors(m *manifests, _ commandFlags) []error {
	var errs []error
	ws := m.workloads()
	for _, w := range ws {
		sel, err := selectorOf(w.selector)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", w, err))
			continue
		}
		if _, err := selectsOne(ws, sel); err != nil || !sel.Matches(labels.Set(w.template.Labels)) {
			errs = append(errs, fmt.Errorf("%s: selector %s must select its own pod template (labels %v) and no other: %v", w, sel, w.template.Labels, err))
		}
		for i, c := range w.template.Spec.TopologySpreadConstraints {
			s, err := selectorOf(c.LabelSelector)
			if err != nil || !s.Matches(labels.Set(w.template.Labels)) {
				errs = append(errs, fmt.Errorf("%s: topologySpreadConstraints[%d] does not select its own pods: %v", w, i, err))
			}
		}
	}
	return errs
}

// protocolOf is a port's protocol, TCP when not set, as in Kubernetes.
func protocolOf(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}

// findPort returns the container of spec that declares target (a port
// name or number) with protocol proto. A Service may name a port of a
// regular container only: not every Kubernetes release resolves named
// ports of native sidecars.
func findPort(spec *corev1.PodSpec, target intstr.IntOrString, proto corev1.Protocol) (container, int32, error) {
	for _, c := range runningContainers(spec) {
		for _, p := range c.Ports {
			if protocolOf(p.Protocol) != proto {
				continue
			}
			switch {
			case target.Type == intstr.String && p.Name == target.StrVal && c.sidecar:
				return c, 0, fmt.Errorf("port %q is a port of the native sidecar %q: not every Kubernetes release resolves it by name; use the number", target.StrVal, c.Name)
			case target.Type == intstr.String && p.Name == target.StrVal, target.Type == intstr.Int && p.ContainerPort == target.IntVal:
				return c, p.ContainerPort, nil
			}
		}
	}
	return container{}, 0, fmt.Errorf("no container declares port %s/%s", target.String(), proto)
}

// serviceTarget returns a Service port's targetPort: the port itself when
// not set, as in Kubernetes.
func serviceTarget(p corev1.ServicePort) intstr.IntOrString {
	if p.TargetPort.Type == intstr.Int && p.TargetPort.IntVal == 0 {
		return intstr.FromInt32(p.Port)
	}
	return p.TargetPort
}

// checkServices: each Service selects the pods of exactly one workload and
// every targetPort names a port those pods declare, with its protocol. A
// headless Service is for joining gossip and so also lists pods that are
// not ready; a StatefulSet's serviceName is such a Service of its pods.
func checkServices(m *manifests, _ commandFlags) []error {
	var errs []error
	ws := m.workloads()
	for _, s := range m.services {
		if len(s.Spec.Selector) == 0 {
			errs = append(errs, fmt.Errorf("Service %s has no selector", s.Name))
			continue
		}
		w, err := selectsOne(ws, labels.SelectorFromSet(s.Spec.Selector))
		if err != nil {
			errs = append(errs, fmt.Errorf("Service %s: %w", s.Name, err))
			continue
		}
		if len(s.Spec.Ports) == 0 {
			errs = append(errs, fmt.Errorf("Service %s has no ports", s.Name))
		}
		for _, p := range s.Spec.Ports {
			if _, _, err := findPort(&w.template.Spec, serviceTarget(p), protocolOf(p.Protocol)); err != nil {
				errs = append(errs, fmt.Errorf("Service %s port %q: %s: %w", s.Name, p.Name, w, err))
			}
		}
		if s.Spec.ClusterIP == corev1.ClusterIPNone && !s.Spec.PublishNotReadyAddresses {
			errs = append(errs, fmt.Errorf("headless Service %s: publishNotReadyAddresses must be true, or a starting node cannot find the cluster", s.Name))
		}
	}
	for _, st := range m.statefulSets {
		s := m.service(st.Spec.ServiceName)
		switch {
		case s == nil:
			errs = append(errs, fmt.Errorf("StatefulSet %s: serviceName %q names no Service", st.Name, st.Spec.ServiceName))
		case s.Spec.ClusterIP != corev1.ClusterIPNone:
			errs = append(errs, fmt.Errorf("StatefulSet %s: serviceName %q is not a headless Service", st.Name, s.Name))
		case !labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(st.Spec.Template.Labels)):
			errs = append(errs, fmt.Errorf("StatefulSet %s: Service %q does not select its pods", st.Name, s.Name))
		}
	}
	return errs
}

// service returns the Service called name, or nil.
func (m *manifests) service(name string) *corev1.Service {
	for _, s := range m.services {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// checkPDBs: each PodDisruptionBudget selects the pods of exactly one
// workload and still allows one disruption; no pods have two (eviction
// refuses those), and the chat nodes have one.
func checkPDBs(m *manifests, _ commandFlags) []error {
	var errs []error
	ws := m.workloads()
	covered := map[string]int{}
	for _, p := range m.pdbs {
		sel, err := selectorOf(p.Spec.Selector)
		if err != nil {
			errs = append(errs, fmt.Errorf("PodDisruptionBudget %s: %w", p.Name, err))
			continue
		}
		w, err := selectsOne(ws, sel)
		if err != nil {
			errs = append(errs, fmt.Errorf("PodDisruptionBudget %s: %w", p.Name, err))
			continue
		}
		covered[w.String()]++
		if err := allowsDisruption(p.Spec.MaxUnavailable, p.Spec.MinAvailable, w.replicas); err != nil {
			errs = append(errs, fmt.Errorf("PodDisruptionBudget %s for %s: %w", p.Name, w, err))
		}
	}
	for _, w := range ws {
		if n := covered[w.String()]; n > 1 || (w.kind == "StatefulSet" && n == 0) {
			errs = append(errs, fmt.Errorf("%s is covered by %d PodDisruptionBudgets, want 1", w, n))
		}
	}
	return errs
}

// allowsDisruption reports whether a budget lets one of n pods go.
func allowsDisruption(maxUnavailable, minAvailable *intstr.IntOrString, n int32) error {
	if (maxUnavailable == nil) == (minAvailable == nil) {
		return errors.New("set exactly one of maxUnavailable and minAvailable")
	}
	if maxUnavailable != nil {
		v, err := intstr.GetScaledValueFromIntOrPercent(maxUnavailable, int(n), true)
		if err != nil || v < 1 {
			return fmt.Errorf("maxUnavailable %s of %d pods lets none go (%v)", maxUnavailable.String(), n, err)
		}
		return nil
	}
	v, err := intstr.GetScaledValueFromIntOrPercent(minAvailable, int(n), true)
	if err != nil || v >= int(n) {
		return fmt.Errorf("minAvailable %s of %d pods lets none go (%v)", minAvailable.String(), n, err)
	}
	return nil
}

// checkImages: every container runs the same image, with a tag.
func checkImages(m *manifests, _ commandFlags) []error {
	var errs []error
	images := map[string]bool{}
	for _, w := range m.workloads() {
		for _, c := range runningContainers(&w.template.Spec) {
			images[c.Image] = true
			if i := strings.LastIndex(c.Image, "/"); !strings.Contains(c.Image[i+1:], ":") {
				errs = append(errs, fmt.Errorf("%s container %s: image %q has no tag", w, c.Name, c.Image))
			}
		}
	}
	if len(images) != 1 {
		errs = append(errs, fmt.Errorf("the containers run %d images %v; one chatha image serves as node, sidecar and front door", len(images), images))
	}
	return errs
}

// checkExampleSecrets: every key of the example Secrets is read by some
// container, and a placeholder gossip key is not a usable key, so a
// cluster started with the example as it is fails instead of running with
// known tokens.
func checkExampleSecrets(m *manifests, _ commandFlags) []error {
	var errs []error
	used := map[string]bool{}
	for _, w := range m.workloads() {
		for _, c := range runningContainers(&w.template.Spec) {
			for _, e := range c.Env {
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					used[e.ValueFrom.SecretKeyRef.Name+"/"+e.ValueFrom.SecretKeyRef.Key] = true
				}
			}
		}
	}
	for _, s := range m.secrets {
		for _, key := range secretKeys(s) {
			if !used[s.Name+"/"+key] {
				errs = append(errs, fmt.Errorf("Secret %s key %q is read by no container", s.Name, key))
			}
		}
		if v, ok := secretValue(s, "gossip-key"); ok {
			if b, err := base64.StdEncoding.DecodeString(v); err == nil && (len(b) == 16 || len(b) == 24 || len(b) == 32) {
				errs = append(errs, fmt.Errorf("Secret %s: the example gossip-key is a usable key; keep a placeholder that fails", s.Name))
			}
		}
	}
	return errs
}

// secretKeys returns the keys of a Secret, from data and stringData.
func secretKeys(s *corev1.Secret) []string {
	var keys []string
	for k := range s.StringData {
		keys = append(keys, k)
	}
	for k := range s.Data {
		keys = append(keys, k)
	}
	return keys
}
