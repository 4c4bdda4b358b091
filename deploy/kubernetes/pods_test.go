package kubernetes

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// cluster runs one pod of each workload as processes on 127.0.0.1, the way
// the kubelet would: each container's command line with its environment
// (downward API, Secrets, ConfigMaps), its volumes in a folder, and its
// declared ports mapped to free ports.
type cluster struct {
	t         *testing.T
	m         *manifests
	binDir    string
	namespace string
	dir       string
	// secrets are the test's values of Secret keys, by "secret/key".
	secrets map[string]string
	// pods are the started pods; a Service resolves to them.
	pods []*pod
	http *http.Client
}

// pod is one running pod of a workload.
type pod struct {
	w     workload
	ports map[int32]int32 // declared container port -> port on 127.0.0.1
	dir   string          // its volumes
	procs map[string]*proc
	env   map[string][]string // each container's environment
}

// podIP is every pod's IP in the test.
const podIP = "127.0.0.1"

func newCluster(t *testing.T, m *manifests, binDir string) *cluster {
	return &cluster{
		t: t, m: m, binDir: binDir, namespace: "chatha-test", dir: t.TempDir(), secrets: map[string]string{},
		http: &http.Client{Timeout: 5 * time.Second}, // chatha answers in milliseconds
	}
}

// secretValue returns the test's value for a Secret key read into the
// variable env: a fresh gossip key, a SQLite store, or a random token.
func (cl *cluster) secretValue(ref *corev1.SecretKeySelector, env string) string {
	id := ref.Name + "/" + ref.Key
	if v, ok := cl.secrets[id]; ok {
		return v
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	v := "test-" + hex.EncodeToString(b[:12])
	switch env {
	case envName("gossip-key"):
		v = base64.StdEncoding.EncodeToString(b)
	case envName("store"):
		v = "sqlite:" + filepath.Join(cl.dir, "store", "chatha.db")
	}
	cl.secrets[id] = v
	return v
}

// newPod maps the ports and writes the volumes of w's pod; start runs it.
func (cl *cluster) newPod(w workload) *pod {
	p := &pod{w: w, ports: map[int32]int32{}, dir: filepath.Join(cl.dir, w.podName), procs: map[string]*proc{}, env: map[string][]string{}}
	for _, c := range runningContainers(&w.template.Spec) {
		for _, port := range c.Ports {
			if _, ok := p.ports[port.ContainerPort]; !ok {
				p.ports[port.ContainerPort] = freePort(cl.t)
			}
		}
	}
	for _, v := range w.template.Spec.Volumes {
		files, err := volumeKeys(cl.m, v)
		if err != nil {
			cl.t.Fatalf("%s: volume %s: %v", w, v.Name, err)
		}
		for key, data := range files {
			path := filepath.Join(p.dir, "volumes", v.Name, key)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				cl.t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
				cl.t.Fatal(err)
			}
		}
	}
	return p
}

// start starts p's containers in the kubelet's order: native sidecars
// first, then the others. The pod resolves through Services from then on,
// as the gossip Service also lists pods that are not ready.
func (cl *cluster) start(p *pod) {
	cl.pods = append(cl.pods, p)
	for _, c := range runningContainers(&p.w.template.Spec) {
		env, vars := cl.environment(p, c)
		argv := cl.rewrite(p, c, expand(containerArgv(c.Container), vars))
		if argv[0] != "chatha" {
			cl.t.Fatalf("%s container %s runs %q, want chatha", p.w, c.Name, argv[0])
		}
		argv[0] = filepath.Join(cl.binDir, "chatha")
		p.env[c.Name] = env
		p.procs[c.Name] = startProc(cl.t, p.w.podName+"/"+c.Name, argv, env)
	}
}

// environment returns c's environment as the kubelet sets it, and the
// same as a map for $(VAR) expansion.
func (cl *cluster) environment(p *pod, c container) ([]string, map[string]string) {
	vars := map[string]string{}
	env := []string{basePath(cl.binDir)}
	for _, e := range c.Env {
		v, err := cl.envValue(p, e, vars)
		if err != nil {
			cl.t.Fatalf("%s container %s: env %s: %v", p.w, c.Name, e.Name, err)
		}
		vars[e.Name] = v
		env = append(env, e.Name+"="+v)
	}
	return env, vars
}

func (cl *cluster) envValue(p *pod, e corev1.EnvVar, vars map[string]string) (string, error) {
	src := e.ValueFrom
	switch {
	case src == nil:
		return expand([]string{e.Value}, vars)[0], nil
	case src.SecretKeyRef != nil:
		return cl.secretValue(src.SecretKeyRef, e.Name), nil
	case src.ConfigMapKeyRef != nil:
		cm := cl.m.configMaps[src.ConfigMapKeyRef.Name]
		if cm == nil {
			return "", fmt.Errorf("no ConfigMap %s", src.ConfigMapKeyRef.Name)
		}
		return cm.Data[src.ConfigMapKeyRef.Key], nil
	case src.FieldRef != nil:
		v, ok := map[string]string{"metadata.name": p.w.podName, "metadata.namespace": cl.namespace, "status.podIP": podIP}[src.FieldRef.FieldPath]
		if !ok {
			return "", fmt.Errorf("the test has no value for field %s", src.FieldRef.FieldPath)
		}
		return v, nil
	}
	return "", fmt.Errorf("a source the test cannot provide")
}

// expand replaces $(VAR) with the value of VAR where it is set, as
// Kubernetes does in command, args and env values.
func expand(args []string, vars map[string]string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = argVar.ReplaceAllStringFunc(a, func(ref string) string {
			if v, ok := vars[ref[2:len(ref)-1]]; ok {
				return v
			}
			return ref
		})
	}
	return out
}

// hostPort is an address in a command line: a host name or IP and a port.
var hostPort = regexp.MustCompile(`[A-Za-z0-9][A-Za-z0-9.-]*:\d+`)

// rewrite maps what a pod sees to what the test runs: addresses of the pod
// itself (pod IP, all addresses, loopback) to its mapped ports, Service
// DNS names to the mapped port of the pod they select, and mount paths to
// the pod's volume folders.
func (cl *cluster) rewrite(p *pod, c container, args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		a = hostPort.ReplaceAllStringFunc(a, func(hp string) string {
			addr, err := cl.resolve(p, hp)
			if err != nil {
				cl.t.Fatalf("%s container %s: argument %q: %v", p.w, c.Name, args[i], err)
			}
			return addr
		})
		for _, vm := range c.VolumeMounts {
			a = strings.ReplaceAll(a, vm.MountPath, filepath.Join(p.dir, "volumes", vm.Name))
		}
		out[i] = a
	}
	return out
}

// resolve returns the test address of HOST:PORT as seen from pod p.
func (cl *cluster) resolve(p *pod, hp string) (string, error) {
	host, portStr, _ := net.SplitHostPort(hp)
	port64, err := strconv.ParseInt(portStr, 10, 32)
	if err != nil {
		return "", err
	}
	port := int32(port64)
	if host == podIP || host == "0.0.0.0" || host == "localhost" {
		mapped, ok := p.ports[port]
		if !ok {
			return "", fmt.Errorf("port %d is declared by no container of the pod", port)
		}
		return net.JoinHostPort(podIP, strconv.Itoa(int(mapped))), nil
	}
	return cl.resolveService(host, port)
}

// resolveService finds the Service a DNS name names (NAME, NAME.NS,
// NAME.NS.svc, NAME.NS.svc.cluster.local), its TCP port, and the mapped
// port of the running pod it selects.
func (cl *cluster) resolveService(host string, port int32) (string, error) {
	name := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(host, ".cluster.local"), ".svc"), "."+cl.namespace)
	s := cl.m.service(name)
	if s == nil {
		return "", fmt.Errorf("%s names no Service of the manifests in namespace %s", host, cl.namespace)
	}
	for _, sp := range s.Spec.Ports {
		if sp.Port != port || protocolOf(sp.Protocol) != corev1.ProtocolTCP {
			continue
		}
		for _, p := range cl.pods {
			if !labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(p.w.template.Labels)) {
				continue
			}
			_, target, err := findPort(&p.w.template.Spec, serviceTarget(sp), corev1.ProtocolTCP)
			if err != nil {
				return "", err
			}
			return net.JoinHostPort(podIP, strconv.Itoa(int(p.ports[target]))), nil
		}
		return "", fmt.Errorf("Service %s selects no running pod", s.Name)
	}
	return "", fmt.Errorf("Service %s has no TCP port %d", s.Name, port)
}
