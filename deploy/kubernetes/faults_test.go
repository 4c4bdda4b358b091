package kubernetes

import (
	"errors"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// fault is a mistake made in a fresh copy of the manifests, and what the
// named check must say about it.
type fault struct {
	name, check, want string
	apply             func(m *manifests)
}

// Accessors of the objects the faults change.
func nodeSet(m *manifests) *appsv1.StatefulSet { return m.statefulSets[0] }
func nodeContainer(m *manifests) *corev1.Container {
	return &nodeSet(m).Spec.Template.Spec.Containers[0]
}
func sidecar(m *manifests) *corev1.Container { return &nodeSet(m).Spec.Template.Spec.InitContainers[0] }
func frontDoor(m *manifests) *corev1.Container {
	return &m.deployments[0].Spec.Template.Spec.Containers[0]
}
func pdb(m *manifests, name string) *policyv1.PodDisruptionBudget {
	for _, p := range m.pdbs {
		if p.Name == name {
			return p
		}
	}
	panic("BUG: no PodDisruptionBudget " + name)
}
func env(c *corev1.Container, name string) *corev1.EnvVar {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i]
		}
	}
	panic("BUG: no env " + name)
}
func setArg(c *corev1.Container, prefix, arg string) {
	for i, a := range c.Args {
		if strings.HasPrefix(a, prefix) {
			c.Args[i] = arg
			return
		}
	}
	panic("BUG: no argument " + prefix)
}
func preStopScript(c *corev1.Container) *string { return &c.Lifecycle.PreStop.Exec.Command[2] }

// faults are mistakes each check must catch.
func faults() []fault {
	return []fault{
		{"namespace pinned", "objects", "sets namespace", func(m *manifests) { m.configMaps["chatha-node-config"].Namespace = "prod" }},
		{"selector misses its pods", "selectors", "must select its own pod template", func(m *manifests) {
			nodeSet(m).Spec.Template.Labels["app.kubernetes.io/component"] = "chat"
		}},
		{"Service port nobody declares", "services", "no container declares port 9090/TCP", func(m *manifests) {
			m.service("chatha").Spec.Ports[0].TargetPort = intstr.FromInt32(9090)
		}},
		{"Service names a sidecar port", "services", "not every Kubernetes release resolves it by name", func(m *manifests) {
			m.service("chatha").Spec.Ports[0].TargetPort = intstr.FromString("proxy")
		}},
		{"gossip Service hides starting pods", "services", "publishNotReadyAddresses must be true", func(m *manifests) {
			m.service("chatha-gossip").Spec.PublishNotReadyAddresses = false
		}},
		{"UDP gossip port targets TCP", "services", "no container declares port gossip-udp/TCP", func(m *manifests) {
			m.service("chatha-gossip").Spec.Ports[1].Protocol = corev1.ProtocolTCP
		}},
		{"PDB on the wrong pods", "disruption budgets", "covered by 0 PodDisruptionBudgets", func(m *manifests) {
			pdb(m, "chatha-node").Spec.Selector.MatchLabels["app.kubernetes.io/component"] = "front-door"
		}},
		{"PDB lets nothing go", "disruption budgets", "lets none go", func(m *manifests) {
			zero := intstr.FromInt32(0)
			pdb(m, "chatha-node").Spec.MaxUnavailable = &zero
		}},
		{"readiness on a path chatha does not serve", "probes", `path "/ready", want "/readyz"`, func(m *manifests) {
			nodeContainer(m).ReadinessProbe.HTTPGet.Path = "/ready"
		}},
		{"probe on a port the container lacks", "probes", "port metrics is not a TCP port", func(m *manifests) {
			frontDoor(m).LivenessProbe.HTTPGet.Port = intstr.FromString("metrics")
		}},
		{"startup probe on the sidecar", "probes", "startup probe on a native sidecar", func(m *manifests) {
			sidecar(m).StartupProbe = sidecar(m).LivenessProbe
		}},
		{"$(VAR) in a hook", "probes", "uses $(VAR)", func(m *manifests) {
			*preStopScript(nodeContainer(m)) = strings.ReplaceAll(*preStopScript(nodeContainer(m)), `"$POD_NAME"`, "$(POD_NAME)")
		}},
		{"Secret key that does not exist", "references", `Secret chatha-auth has no key "cluster-tokn"`, func(m *manifests) {
			env(nodeContainer(m), "CHATHA_CLUSTER_TOKEN").ValueFrom.SecretKeyRef.Key = "cluster-tokn"
		}},
		{"ConfigMap that does not exist", "references", `ConfigMap "chatha-config" is not in the manifests`, func(m *manifests) {
			nodeSet(m).Spec.Template.Spec.Volumes[0].ConfigMap.Name = "chatha-config"
		}},
		{"argument with an unset variable", "references", "uses $(POD_NAM)", func(m *manifests) { setArg(nodeContainer(m), "--name=", "--name=$(POD_NAM)") }},
		{"hook with an unset variable", "references", "uses $NODE_NAME", func(m *manifests) {
			*preStopScript(nodeContainer(m)) = strings.ReplaceAll(*preStopScript(nodeContainer(m)), "POD_NAME", "NODE_NAME")
		}},
		{"environment variable of no flag", "flags and environment", "CHATHA_CLUSTER_TOKN is the variable of no flag", func(m *manifests) {
			env(frontDoor(m), "CHATHA_CLUSTER_TOKEN").Name = "CHATHA_CLUSTER_TOKN"
		}},
		{"store given to a proxy, which has no --store", "flags and environment", "CHATHA_STORE is the variable of no flag of chatha proxy", func(m *manifests) {
			frontDoor(m).Env = append(frontDoor(m).Env, *env(nodeContainer(m), "CHATHA_STORE"))
		}},
		{"flag that does not exist", "flags and environment", "chatha node has no flag --gosip", func(m *manifests) {
			setArg(nodeContainer(m), "--gossip=", "--gosip=$(POD_IP):7946")
		}},
		{"flag and variable both", "flags and environment", "CHATHA_NAME and --name are both given", func(m *manifests) {
			nodeContainer(m).Env = append(nodeContainer(m).Env, corev1.EnvVar{Name: "CHATHA_NAME", Value: "x"})
		}},
		{"unused variable", "flags and environment", "env NODE_IP is used by neither", func(m *manifests) {
			nodeContainer(m).Env = append(nodeContainer(m).Env, corev1.EnvVar{Name: "NODE_IP", Value: "x"})
		}},
		{"ctl flag that does not exist", "flags and environment", "chatha ctl has no flag --proxi", func(m *manifests) {
			*preStopScript(nodeContainer(m)) = strings.Replace(*preStopScript(nodeContainer(m)), "--proxy", "--proxi", 1)
		}},
		{"API on loopback only", "addresses", `--api "127.0.0.1:8081": host must be one of`, func(m *manifests) { setArg(nodeContainer(m), "--api=", "--api=127.0.0.1:8081") }},
		{"gossip on an undeclared port", "addresses", "declares no TCP port 7948", func(m *manifests) { setArg(nodeContainer(m), "--gossip=", "--gossip=$(POD_IP):7948") }},
		{"join without the namespace", "addresses", "want SERVICE.$(POD_NAMESPACE).svc:PORT", func(m *manifests) { setArg(frontDoor(m), "--join=", "--join=chatha-gossip:7946") }},
		{"join a Service that is not headless", "addresses", "chatha is not a headless Service", func(m *manifests) {
			setArg(frontDoor(m), "--join=", "--join=chatha.$(POD_NAMESPACE).svc:7946")
		}},
		{"hook through a port nobody listens on", "addresses", "no container of the pod listens on 127.0.0.1:8090", func(m *manifests) {
			*preStopScript(nodeContainer(m)) = strings.Replace(*preStopScript(nodeContainer(m)), "127.0.0.1:8080", "127.0.0.1:8090", 1)
		}},
		{"port name too long", "addresses", "must be no more than 15 characters", func(m *manifests) { nodeContainer(m).Ports[0].Name = "chat-node-api-port" }},
		{"writable root file system", "security", "readOnlyRootFilesystem must be true", func(m *manifests) {
			f := false
			sidecar(m).SecurityContext.ReadOnlyRootFilesystem = &f
		}},
		{"Service links on", "security", "enableServiceLinks must be false", func(m *manifests) {
			on := true
			m.deployments[0].Spec.Template.Spec.EnableServiceLinks = &on
		}},
		{"no memory limit", "security", "memory: want a request above 0 and no more than a limit", func(m *manifests) {
			delete(nodeContainer(m).Resources.Limits, corev1.ResourceMemory)
		}},
		{"grace period shorter than the drain", "shutdown", "terminationGracePeriodSeconds 60 is less than the 140 s", func(m *manifests) {
			sixty := int64(60)
			nodeSet(m).Spec.Template.Spec.TerminationGracePeriodSeconds = &sixty
		}},
		{"unbounded drain", "shutdown", "the preStop hook is unbounded", func(m *manifests) {
			*preStopScript(nodeContainer(m)) = strings.TrimPrefix(*preStopScript(nodeContainer(m)), "timeout 120 ")
		}},
		{"drain without waiting", "drain hook", "want chatha ctl ... drain \"$POD_NAME\" --wait", func(m *manifests) {
			*preStopScript(nodeContainer(m)) = strings.TrimSuffix(*preStopScript(nodeContainer(m)), " --wait")
		}},
		{"drain another name", "drain hook", "want chatha ctl ... drain \"$POD_NAME\" --wait", func(m *manifests) {
			*preStopScript(nodeContainer(m)) = strings.ReplaceAll(*preStopScript(nodeContainer(m)), "$POD_NAME", "$POD_IP")
		}},
		{"two images", "images", "the containers run 2 images", func(m *manifests) { frontDoor(m).Image = "ghcr.io/chatha/chatha:1.0.0" }},
		{"usable example gossip key", "example secrets", "the example gossip-key is a usable key", func(m *manifests) {
			m.secrets["chatha-auth"].StringData["gossip-key"] = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
		}},
		{"example key nobody reads", "example secrets", `key "webhook-token" is read by no container`, func(m *manifests) {
			m.secrets["chatha-auth"].StringData["webhook-token"] = "x"
		}},
	}
}

// testFaults shows that every check can fail: each fault, made in a fresh
// copy of the manifests, makes its check report it, and every check has a
// fault.
func testFaults(t *testing.T, flags commandFlags) {
	checks := map[string]check{}
	for _, c := range allChecks() {
		checks[c.name] = c.fn
	}
	covered := map[string]bool{}
	for _, f := range faults() {
		t.Run(f.name, func(t *testing.T) {
			m := loadManifests(t, ".")
			fn, ok := checks[f.check]
			if !ok {
				t.Fatalf("no check %q", f.check)
			}
			if errs := fn(m, flags); len(errs) > 0 {
				t.Fatalf("check %q fails before the fault: %v", f.check, errors.Join(errs...))
			}
			f.apply(m)
			err := errors.Join(fn(m, flags)...)
			if err == nil || !strings.Contains(err.Error(), f.want) {
				t.Fatalf("check %q: got %v, want an error with %q", f.check, err, f.want)
			}
		})
		covered[f.check] = true
	}
	for name := range checks {
		if !covered[name] {
			t.Errorf("check %q has no fault that shows it can fail", name)
		}
	}
}
