package kubernetes

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
)

// eachContainer calls fn for every long-running container of every
// workload and gathers the errors, each prefixed with where it is.
func eachContainer(m *manifests, fn func(w workload, c container) []error) []error {
	var errs []error
	for _, w := range m.workloads() {
		for _, c := range runningContainers(&w.template.Spec) {
			for _, err := range fn(w, c) {
				errs = append(errs, fmt.Errorf("%s container %s: %w", w, c.Name, err))
			}
		}
	}
	return errs
}

// probePaths are the paths chatha serves for each probe (ARCHITECTURE:
// Operations API); the pod test GETs them from the running binary.
var probePaths = map[string]string{"liveness": "/healthz", "readiness": "/readyz", "startup": "/healthz"}

// checkProbes: every container has a liveness probe on /healthz and a
// readiness probe on /readyz, HTTP GETs on a TCP port the container
// declares. A native sidecar has no startup probe: the node would wait for
// it, while the proxy answers only once it has joined a node. Exec
// handlers do not use $(VAR), which Kubernetes does not expand there.
func checkProbes(m *manifests, _ commandFlags) []error {
	return eachContainer(m, func(_ workload, c container) []error {
		var errs []error
		for kind, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe, "startup": c.StartupProbe} {
			switch {
			case p == nil && kind == "startup":
			case p == nil:
				errs = append(errs, fmt.Errorf("no %s probe", kind))
			case kind == "startup" && c.sidecar:
				errs = append(errs, errors.New("a startup probe on a native sidecar holds back the node, which the proxy needs to start"))
			default:
				if err := checkHTTPProbe(c, p, probePaths[kind]); err != nil {
					errs = append(errs, fmt.Errorf("%s probe: %w", kind, err))
				}
			}
		}
		for what, h := range execHandlers(c) {
			if strings.Contains(strings.Join(h.Command, " "), "$(") {
				errs = append(errs, fmt.Errorf("%s uses $(VAR): Kubernetes expands it only in command and args; in a shell write $VAR", what))
			}
		}
		return errs
	})
}

func checkHTTPProbe(c container, p *corev1.Probe, path string) error {
	g := p.HTTPGet
	switch {
	case g == nil:
		return errors.New("not an httpGet probe")
	case g.Path != path:
		return fmt.Errorf("path %q, want %q", g.Path, path)
	case g.Scheme != "" && g.Scheme != corev1.URISchemeHTTP:
		return fmt.Errorf("scheme %s: chatha's API is plain HTTP unless --tls-cert is set", g.Scheme)
	}
	_, err := containerPort(c, g.Port)
	return err
}

// containerPort returns the number of the TCP port of c named or numbered target.
func containerPort(c container, target intstr.IntOrString) (int32, error) {
	for _, p := range c.Ports {
		if protocolOf(p.Protocol) == corev1.ProtocolTCP && (p.Name == target.String() || p.ContainerPort == target.IntVal) {
			return p.ContainerPort, nil
		}
	}
	return 0, fmt.Errorf("port %s is not a TCP port of the container", target.String())
}

// execHandlers returns the exec handlers of c (probes and lifecycle hooks), by name.
func execHandlers(c container) map[string]*corev1.ExecAction {
	hs := map[string]*corev1.ExecAction{}
	for name, p := range map[string]*corev1.Probe{"livenessProbe": c.LivenessProbe, "readinessProbe": c.ReadinessProbe, "startupProbe": c.StartupProbe} {
		if p != nil && p.Exec != nil {
			hs[name] = p.Exec
		}
	}
	if l := c.Lifecycle; l != nil {
		for name, h := range map[string]*corev1.LifecycleHandler{"preStop": l.PreStop, "postStart": l.PostStart} {
			if h != nil && h.Exec != nil {
				hs[name] = h.Exec
			}
		}
	}
	return hs
}

// fieldPaths are the pod fields the downward API offers to env vars.
var fieldPaths = map[string]bool{
	"metadata.name": true, "metadata.namespace": true, "metadata.uid": true,
	"spec.nodeName": true, "spec.serviceAccountName": true,
	"status.hostIP": true, "status.hostIPs": true, "status.podIP": true, "status.podIPs": true,
}

var (
	// argVar is a $(VAR) reference, which Kubernetes expands in command and args.
	argVar = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)
	// shellVar is a $VAR or ${VAR} reference in a shell script.
	shellVar = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)`)
)

// checkReferences: every Secret, ConfigMap (and key), volume and downward
// API field a pod uses exists; every variable that command, args or a
// hook script uses is set in the container; every volume is mounted.
func checkReferences(m *manifests, _ commandFlags) []error {
	var errs []error
	for _, w := range m.workloads() {
		spec := &w.template.Spec
		for _, err := range checkVolumes(m, spec) {
			errs = append(errs, fmt.Errorf("%s: %w", w, err))
		}
	}
	return append(errs, eachContainer(m, func(w workload, c container) []error {
		errs := checkEnvRefs(m, c)
		vars := envNames(c)
		for _, a := range containerArgv(c.Container) {
			for _, v := range argVar.FindAllStringSubmatch(a, -1) {
				if !vars[v[1]] {
					errs = append(errs, fmt.Errorf("argument %q uses $(%s), which the container does not set: Kubernetes would pass it as it is", a, v[1]))
				}
			}
		}
		for what, h := range execHandlers(c) {
			for _, v := range shellVar.FindAllStringSubmatch(hookScript(h), -1) {
				if !vars[v[1]] {
					errs = append(errs, fmt.Errorf("%s uses $%s, which the container does not set", what, v[1]))
				}
			}
		}
		for _, vm := range c.VolumeMounts {
			if volume(&w.template.Spec, vm.Name) == nil {
				errs = append(errs, fmt.Errorf("volumeMount %q names no volume of the pod", vm.Name))
			}
		}
		return errs
	})...)
}

func checkEnvRefs(m *manifests, c container) []error {
	var errs []error
	if len(c.EnvFrom) > 0 {
		errs = append(errs, errors.New("envFrom hides which variables the container gets; list them under env"))
	}
	seen := map[string]bool{}
	for _, e := range c.Env {
		if seen[e.Name] {
			errs = append(errs, fmt.Errorf("env %s is set twice", e.Name))
		}
		seen[e.Name] = true
		if err := checkEnvSource(m, e); err != nil {
			errs = append(errs, fmt.Errorf("env %s: %w", e.Name, err))
		}
	}
	return errs
}

func checkEnvSource(m *manifests, e corev1.EnvVar) error {
	src := e.ValueFrom
	switch {
	case src == nil:
		return nil
	case src.SecretKeyRef != nil:
		s := m.secrets[src.SecretKeyRef.Name]
		if s == nil {
			return fmt.Errorf("Secret %q is not in the manifests", src.SecretKeyRef.Name)
		}
		if _, ok := secretValue(s, src.SecretKeyRef.Key); !ok {
			return fmt.Errorf("Secret %s has no key %q", s.Name, src.SecretKeyRef.Key)
		}
	case src.ConfigMapKeyRef != nil:
		cm := m.configMaps[src.ConfigMapKeyRef.Name]
		if cm == nil {
			return fmt.Errorf("ConfigMap %q is not in the manifests", src.ConfigMapKeyRef.Name)
		}
		if _, ok := cm.Data[src.ConfigMapKeyRef.Key]; !ok {
			return fmt.Errorf("ConfigMap %s has no key %q", cm.Name, src.ConfigMapKeyRef.Key)
		}
	case src.FieldRef != nil:
		if !fieldPaths[src.FieldRef.FieldPath] {
			return fmt.Errorf("fieldPath %q is not a field the downward API offers", src.FieldRef.FieldPath)
		}
	default:
		return errors.New("a source the test does not check")
	}
	return nil
}

// checkVolumes: every volume's ConfigMap or Secret (and listed keys)
// exists, and some container mounts it.
func checkVolumes(m *manifests, spec *corev1.PodSpec) []error {
	var errs []error
	mounted := map[string]bool{}
	for _, c := range runningContainers(spec) {
		for _, vm := range c.VolumeMounts {
			mounted[vm.Name] = true
		}
	}
	for _, v := range spec.Volumes {
		if !mounted[v.Name] {
			errs = append(errs, fmt.Errorf("volume %s is mounted by no container", v.Name))
		}
		keys, err := volumeKeys(m, v)
		if err != nil {
			errs = append(errs, fmt.Errorf("volume %s: %w", v.Name, err))
		}
		for _, it := range volumeItems(v) {
			if _, ok := keys[it.Key]; !ok {
				errs = append(errs, fmt.Errorf("volume %s: item %q is not a key of its source", v.Name, it.Key))
			}
		}
	}
	return errs
}

// volumeKeys returns the files a ConfigMap or Secret volume holds, by key.
func volumeKeys(m *manifests, v corev1.Volume) (map[string]string, error) {
	switch {
	case v.ConfigMap != nil:
		cm := m.configMaps[v.ConfigMap.Name]
		if cm == nil {
			return nil, fmt.Errorf("ConfigMap %q is not in the manifests", v.ConfigMap.Name)
		}
		return cm.Data, nil
	case v.Secret != nil:
		s := m.secrets[v.Secret.SecretName]
		if s == nil {
			return nil, fmt.Errorf("Secret %q is not in the manifests", v.Secret.SecretName)
		}
		keys := map[string]string{}
		for _, k := range secretKeys(s) {
			keys[k], _ = secretValue(s, k)
		}
		return keys, nil
	case v.EmptyDir != nil:
		return map[string]string{}, nil
	}
	return nil, errors.New("a volume type the test does not check")
}

func volumeItems(v corev1.Volume) []corev1.KeyToPath {
	switch {
	case v.ConfigMap != nil:
		return v.ConfigMap.Items
	case v.Secret != nil:
		return v.Secret.Items
	}
	return nil
}

func volume(spec *corev1.PodSpec, name string) *corev1.Volume {
	for i := range spec.Volumes {
		if spec.Volumes[i].Name == name {
			return &spec.Volumes[i]
		}
	}
	return nil
}

// envNames returns the names of the variables c sets.
func envNames(c container) map[string]bool {
	names := map[string]bool{}
	for _, e := range c.Env {
		names[e.Name] = true
	}
	return names
}

// envField returns the downward API field of c's variable name, or "".
func envField(c container, name string) string {
	for _, e := range c.Env {
		if e.Name == name && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
			return e.ValueFrom.FieldRef.FieldPath
		}
	}
	return ""
}

// checkFlags: every container runs chatha with flags its subcommand has;
// every CHATHA_* variable is the variable of one of those flags (chatha
// ignores others silently) and is not also given on the command line
// (which would win); every other variable is used by the command line or a
// hook; chatha commands in hooks use flags that exist too.
func checkFlags(m *manifests, f commandFlags) []error {
	return eachContainer(m, func(_ workload, c container) []error {
		inv, err := parseInvocation(containerArgv(c.Container), f)
		if err != nil {
			return []error{err}
		}
		var errs []error
		given := map[string]bool{}
		for _, fl := range inv.flags {
			given[fl.name] = true
		}
		used := usedVars(c)
		for _, e := range c.Env {
			flag, isChatha := flagOfEnv(e.Name, f[inv.sub])
			switch {
			case strings.HasPrefix(e.Name, "CHATHA_") && !isChatha:
				errs = append(errs, fmt.Errorf("env %s is the variable of no flag of chatha %s", e.Name, inv.sub))
			case isChatha && given[flag]:
				errs = append(errs, fmt.Errorf("env %s and --%s are both given; the flag wins", e.Name, flag))
			case !isChatha && !used[e.Name]:
				errs = append(errs, fmt.Errorf("env %s is used by neither the command line nor a hook", e.Name))
			}
		}
		for what, h := range execHandlers(c) {
			if argv := chathaInScript(hookScript(h)); argv != nil {
				if _, err := parseInvocation(argv, f); err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", what, err))
				}
			}
		}
		return errs
	})
}

// flagOfEnv returns the flag whose variable is name.
func flagOfEnv(name string, flags map[string]bool) (string, bool) {
	for flag := range flags {
		if envName(flag) == name {
			return flag, true
		}
	}
	return "", false
}

// usedVars returns the variables c's command line and hooks refer to.
func usedVars(c container) map[string]bool {
	used := map[string]bool{}
	for _, a := range containerArgv(c.Container) {
		for _, v := range argVar.FindAllStringSubmatch(a, -1) {
			used[v[1]] = true
		}
	}
	for _, h := range execHandlers(c) {
		for _, v := range shellVar.FindAllStringSubmatch(hookScript(h), -1) {
			used[v[1]] = true
		}
	}
	return used
}

// checkAddresses: port names are valid and unique in the pod; --api
// listens on the pod IP or on all addresses (the kubelet probes the pod
// IP), on a TCP port the container declares; --gossip binds the pod IP
// (memberlist advertises the address it binds) on a port declared for TCP
// and UDP; --join names headless Services by their DNS name in the pod's
// namespace with a gossip port; a hook's 127.0.0.1:PORT is a port of the
// pod on which a container listens on all addresses or loopback.
func checkAddresses(m *manifests, f commandFlags) []error {
	var errs []error
	for _, w := range m.workloads() {
		for _, err := range checkPortNames(&w.template.Spec) {
			errs = append(errs, fmt.Errorf("%s: %w", w, err))
		}
	}
	return append(errs, eachContainer(m, func(w workload, c container) []error {
		inv, err := parseInvocation(containerArgv(c.Container), f)
		if err != nil {
			return nil // checkFlags reports it
		}
		var errs []error
		if v, ok := inv.flag("api"); ok {
			errs = append(errs, checkListen(c, "api", v, []string{"0.0.0.0", "status.podIP"}, corev1.ProtocolTCP)...)
		}
		if v, ok := inv.flag("gossip"); ok {
			errs = append(errs, checkListen(c, "gossip", v, []string{"status.podIP"}, corev1.ProtocolTCP, corev1.ProtocolUDP)...)
		}
		if v, ok := inv.flag("join"); ok {
			for _, j := range strings.Split(v, ",") {
				if err := checkJoin(m, c, j); err != nil {
					errs = append(errs, fmt.Errorf("--join %s: %w", j, err))
				}
			}
		}
		for what, h := range execHandlers(c) {
			for _, port := range loopbackPorts(hookScript(h)) {
				if err := checkLoopback(&w.template.Spec, port, f); err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", what, err))
				}
			}
		}
		return errs
	})...)
}

func checkPortNames(spec *corev1.PodSpec) []error {
	var errs []error
	seen := map[string]bool{}
	for _, c := range runningContainers(spec) {
		for _, p := range c.Ports {
			for _, msg := range validation.IsValidPortName(p.Name) {
				errs = append(errs, fmt.Errorf("container %s port %q: %s", c.Name, p.Name, msg))
			}
			if seen[p.Name] {
				errs = append(errs, fmt.Errorf("port name %q is used twice in the pod", p.Name))
			}
			seen[p.Name] = true
		}
	}
	return errs
}

// checkListen checks a listen address HOST:PORT: HOST is a literal of
// hosts or $(VAR) of a downward API field in hosts; PORT is declared by c
// for each of protos.
func checkListen(c container, flag, addr string, hosts []string, protos ...corev1.Protocol) []error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return []error{fmt.Errorf("--%s %q: %w", flag, addr, err)}
	}
	var errs []error
	if v := argVar.FindStringSubmatch(host); v != nil && v[0] == host {
		host = envField(c, v[1])
	}
	if !contains(hosts, host) {
		errs = append(errs, fmt.Errorf("--%s %q: host must be one of %v", flag, addr, hosts))
	}
	n, err := strconv.Atoi(port)
	for _, proto := range protos {
		if err != nil || !declares(c, int32(n), proto) {
			errs = append(errs, fmt.Errorf("--%s %q: the container declares no %s port %s", flag, addr, proto, port))
		}
	}
	return errs
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func declares(c container, port int32, proto corev1.Protocol) bool {
	for _, p := range c.Ports {
		if p.ContainerPort == port && protocolOf(p.Protocol) == proto {
			return true
		}
	}
	return false
}

// joinHost is SERVICE.$(VAR).svc, VAR being the pod's namespace.
var joinHost = regexp.MustCompile(`^([a-z0-9-]+)\.\$\(([A-Za-z_][A-Za-z0-9_]*)\)\.svc$`)

func checkJoin(m *manifests, c container, addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	h := joinHost.FindStringSubmatch(host)
	if h == nil || envField(c, h[2]) != "metadata.namespace" {
		return errors.New("want SERVICE.$(POD_NAMESPACE).svc:PORT, POD_NAMESPACE from the downward API (metadata.namespace), so the manifests work in any namespace")
	}
	s := m.service(h[1])
	if s == nil || s.Spec.ClusterIP != corev1.ClusterIPNone {
		return fmt.Errorf("%s is not a headless Service of the manifests", h[1])
	}
	for _, proto := range []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP} {
		if !servicePort(s, port, proto) {
			return fmt.Errorf("Service %s has no %s port %s (memberlist uses TCP and UDP)", s.Name, proto, port)
		}
	}
	return nil
}

func servicePort(s *corev1.Service, port string, proto corev1.Protocol) bool {
	for _, p := range s.Spec.Ports {
		if strconv.Itoa(int(p.Port)) == port && protocolOf(p.Protocol) == proto {
			return true
		}
	}
	return false
}

// loopbackAddr is a loopback address with a port in a script.
var loopbackAddr = regexp.MustCompile(`(?:127\.0\.0\.1|localhost):(\d+)`)

func loopbackPorts(script string) []string {
	var ports []string
	for _, m := range loopbackAddr.FindAllStringSubmatch(script, -1) {
		ports = append(ports, m[1])
	}
	return ports
}

// checkLoopback: a container of the pod declares port and its --api
// listens there on all addresses or on loopback.
func checkLoopback(spec *corev1.PodSpec, port string, f commandFlags) error {
	for _, c := range runningContainers(spec) {
		inv, err := parseInvocation(containerArgv(c.Container), f)
		if err != nil {
			continue
		}
		api, _ := inv.flag("api")
		host, p, _ := net.SplitHostPort(api)
		if p == port && (host == "0.0.0.0" || host == "127.0.0.1") {
			n, _ := strconv.Atoi(p)
			if declares(c, int32(n), corev1.ProtocolTCP) {
				return nil
			}
		}
	}
	return fmt.Errorf("no container of the pod listens on 127.0.0.1:%s", port)
}

// checkSecurity: pods run as non-root with the runtime's seccomp profile,
// without a service account token (chatha does not call the Kubernetes API)
// and without Service environment variables (a Service named chatha-X
// would set CHATHA_X_* variables); containers cannot gain privileges, keep
// no capabilities, have a read-only root file system, and request and
// limit CPU and memory.
func checkSecurity(m *manifests, _ commandFlags) []error {
	var errs []error
	for _, w := range m.workloads() {
		spec := &w.template.Spec
		sc := spec.SecurityContext
		switch {
		case spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken:
			errs = append(errs, fmt.Errorf("%s: automountServiceAccountToken must be false", w))
		case spec.EnableServiceLinks == nil || *spec.EnableServiceLinks:
			errs = append(errs, fmt.Errorf("%s: enableServiceLinks must be false", w))
		case sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0:
			errs = append(errs, fmt.Errorf("%s: the pod must run as a non-root user (runAsNonRoot, runAsUser)", w))
		case sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault:
			errs = append(errs, fmt.Errorf("%s: seccompProfile must be RuntimeDefault", w))
		}
	}
	return append(errs, eachContainer(m, func(_ workload, c container) []error {
		var errs []error
		sc := c.SecurityContext
		switch {
		case sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
			errs = append(errs, errors.New("allowPrivilegeEscalation must be false"))
		case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
			errs = append(errs, errors.New("readOnlyRootFilesystem must be true"))
		case sc.Capabilities == nil || !contains(capNames(sc.Capabilities.Drop), "ALL") || len(sc.Capabilities.Add) > 0:
			errs = append(errs, errors.New("capabilities: drop ALL, add none"))
		}
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			req, okReq := c.Resources.Requests[r]
			lim, okLim := c.Resources.Limits[r]
			if !okReq || !okLim || req.Cmp(lim) > 0 || req.Cmp(resource.Quantity{}) <= 0 {
				errs = append(errs, fmt.Errorf("%s: want a request above 0 and no more than a limit, got %s and %s", r, req.String(), lim.String()))
			}
		}
		return errs
	})...)
}

func capNames(cs []corev1.Capability) []string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = string(c)
	}
	return names
}

// stopSeconds is the longest a chatha node or proxy takes to stop after
// SIGTERM: up to 5 s to announce its leave, then up to 5 s to close
// connections (cmd/chatha).
const stopSeconds = 10

// boundedHook is how a preStop script bounds itself: "timeout SECONDS ...".
var boundedHook = regexp.MustCompile(`^\s*timeout\s+(\d+)\s`)

// checkShutdown: each pod's terminationGracePeriodSeconds covers its
// longest preStop hook plus every container's stop, so no container is
// killed before it has left the cluster; an exec hook bounds itself.
func checkShutdown(m *manifests, _ commandFlags) []error {
	var errs []error
	for _, w := range m.workloads() {
		spec := &w.template.Spec
		if spec.TerminationGracePeriodSeconds == nil {
			errs = append(errs, fmt.Errorf("%s: set terminationGracePeriodSeconds", w))
			continue
		}
		grace := *spec.TerminationGracePeriodSeconds
		longest := int64(0)
		cs := runningContainers(spec)
		for _, c := range cs {
			n, err := hookSeconds(c)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s container %s: %w", w, c.Name, err))
			}
			longest = max(longest, n)
		}
		if need := longest + stopSeconds*int64(len(cs)); grace < need {
			errs = append(errs, fmt.Errorf("%s: terminationGracePeriodSeconds %d is less than the %d s its preStop hook and %d containers may take", w, grace, need, len(cs)))
		}
	}
	return errs
}

// hookSeconds returns the most seconds c's preStop hook may take.
func hookSeconds(c container) (int64, error) {
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil {
		return 0, nil
	}
	h := c.Lifecycle.PreStop
	switch {
	case h.Sleep != nil:
		return h.Sleep.Seconds, nil
	case h.Exec != nil:
		if b := boundedHook.FindStringSubmatch(hookScript(h.Exec)); b != nil {
			return strconv.ParseInt(b[1], 10, 64)
		}
		return 0, errors.New(`the preStop hook is unbounded: start it with "timeout SECONDS"`)
	}
	return 0, errors.New("a preStop hook that is neither exec nor sleep")
}

// checkDrainHook: every chat node of a StatefulSet drains itself before it
// stops: its preStop hook runs "chatha ctl ... drain $NAME --wait" with the
// variable the node takes its --name from, which is the pod's name.
func checkDrainHook(m *manifests, f commandFlags) []error {
	var errs []error
	for _, st := range m.statefulSets {
		for _, c := range runningContainers(&st.Spec.Template.Spec) {
			inv, err := parseInvocation(containerArgv(c.Container), f)
			if err != nil || inv.sub != "node" {
				continue
			}
			if err := checkNodeDrain(c, inv, f); err != nil {
				errs = append(errs, fmt.Errorf("StatefulSet %s container %s: %w", st.Name, c.Name, err))
			}
		}
	}
	return errs
}

func checkNodeDrain(c container, node invocation, f commandFlags) error {
	name, _ := node.flag("name")
	v := argVar.FindStringSubmatch(name)
	if v == nil || v[0] != name || envField(c, v[1]) != "metadata.name" {
		return fmt.Errorf("--name %q: want $(VAR), VAR from the downward API (metadata.name)", name)
	}
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Exec == nil {
		return errors.New("no preStop exec hook that drains the node")
	}
	argv := chathaInScript(hookScript(c.Lifecycle.PreStop.Exec))
	ctl, err := parseInvocation(argv, f)
	if err != nil {
		return fmt.Errorf("preStop: %w", err)
	}
	_, wait := ctl.flag("wait")
	if ctl.sub != "ctl" || len(ctl.args) != 2 || ctl.args[0] != "drain" || ctl.args[1] != "$"+v[1] || !wait {
		return fmt.Errorf("preStop runs %q, want chatha ctl ... drain \"$%s\" --wait", argv, v[1])
	}
	return nil
}
