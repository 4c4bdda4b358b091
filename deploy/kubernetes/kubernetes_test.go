package kubernetes

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// TestManifests decodes every manifest strictly, runs every check, then
// runs one pod of each workload from the real chatha binary: probes,
// Services, the preStop drain and the stop.
func TestManifests(t *testing.T) {
	m := loadManifests(t, ".")
	binDir := buildChatha(t)
	flags := readFlags(t, filepath.Join(binDir, "chatha"))
	for _, c := range allChecks() {
		t.Run(c.name, func(t *testing.T) {
			for _, err := range c.fn(m, flags) {
				t.Error(err)
			}
		})
	}
	t.Run("checks catch faults", func(t *testing.T) { testFaults(t, flags) })
	t.Run("pods run", func(t *testing.T) { runPods(t, m, binDir) })
	t.Run("example store URL", func(t *testing.T) { runExampleStore(t, m, binDir) })
}

// runPods starts a pod of each workload, checks that every probe answers
// 200 and that a chat can be opened through every client Service, runs the
// chat node's preStop hook while chats are open (it must wait until they
// end), then stops the containers in the kubelet's order within the pods'
// grace periods, and checks that no secret reached a log.
func runPods(t *testing.T, m *manifests, binDir string) {
	cl := newCluster(t, m, binDir)
	for _, w := range m.workloads() {
		cl.start(cl.newPod(w))
	}
	for _, p := range cl.pods {
		cl.probeAll(p)
	}
	chats := cl.openChats()
	for _, p := range cl.pods {
		cl.terminate(p, chats)
	}
	cl.checkLogs(chats)
}

// probeAll GETs every probe of every container of p until it answers 200.
func (cl *cluster) probeAll(p *pod) {
	for _, c := range runningContainers(&p.w.template.Spec) {
		for kind, pr := range map[string]*corev1.Probe{"startup": c.StartupProbe, "liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
			if pr == nil || pr.HTTPGet == nil {
				continue
			}
			port, err := containerPort(c, pr.HTTPGet.Port)
			if err != nil {
				cl.t.Fatalf("%s container %s: %s probe: %v", p.w, c.Name, kind, err)
			}
			u := fmt.Sprintf("http://%s:%d%s", podIP, p.ports[port], pr.HTTPGet.Path)
			proc := p.procs[c.Name]
			err = poll(60*time.Second, func() error {
				if proc.exitedYet() {
					cl.t.Fatalf("%s container %s exited (%v) before its %s probe answered", p.w, c.Name, proc.err, kind)
				}
				return cl.getOK(u)
			})
			if err != nil {
				cl.t.Fatalf("%s container %s: %s probe GET %s: %v", p.w, c.Name, kind, pr.HTTPGet.Path, err)
			}
		}
	}
}

func (cl *cluster) getOK(u string) error {
	resp, err := cl.http.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("answered %s", resp.Status)
	}
	return nil
}

// clientService is a Service with a cluster IP and its address in the test.
type clientService struct{ name, addr string }

// clientServices returns the Services clients use (not the headless
// gossip ones), resolved to the running pods.
func (cl *cluster) clientServices() []clientService {
	var out []clientService
	for _, s := range cl.m.services {
		if s.Spec.ClusterIP == corev1.ClusterIPNone {
			continue
		}
		addr, err := cl.resolveService(s.Name+"."+cl.namespace+".svc", s.Spec.Ports[0].Port)
		if err != nil {
			cl.t.Fatalf("Service %s: %v", s.Name, err)
		}
		out = append(out, clientService{s.Name, addr})
	}
	if len(out) == 0 {
		cl.t.Fatal("no client Service")
	}
	return out
}

// chat is a chat the test opened through a Service.
type chat struct {
	service            clientService
	id, user, key, msg string
}

// chatAnswer is the part of a chat API answer the test reads.
type chatAnswer struct {
	StatusCode int    `json:"statusCode"`
	ChatID     string `json:"chatId"`
	UserID     string `json:"userId"`
	SecureKey  string `json:"secureKey"`
	ChatEnded  bool   `json:"chatEnded"`
}

// openChats opens a chat through each client Service and checks that a
// chat node of the StatefulSet serves it.
func (cl *cluster) openChats() []chat {
	var chats []chat
	nodes := cl.nodePodNames()
	for i, s := range cl.clientServices() {
		c := chat{service: s, msg: fmt.Sprintf("hello through %s number %d", s.name, i)}
		ans, node, err := cl.postChat("http://"+s.addr+"/genesys/2/chat/support", url.Values{"nickname": {"Ann"}, "text": {c.msg}})
		if err != nil || ans.StatusCode != 0 || ans.ChatID == "" {
			cl.t.Fatalf("Service %s: open a chat: %+v, %v", s.name, ans, err)
		}
		if !slices.Contains(nodes, node) {
			cl.t.Fatalf("Service %s: the chat is served by %q, want one of the chat nodes %v", s.name, node, nodes)
		}
		c.id, c.user, c.key = ans.ChatID, ans.UserID, ans.SecureKey
		chats = append(chats, c)
	}
	return chats
}

// nodePodNames returns the names of the running pods of StatefulSets.
func (cl *cluster) nodePodNames() []string {
	var names []string
	for _, p := range cl.pods {
		if p.w.kind == "StatefulSet" {
			names = append(names, p.w.podName)
		}
	}
	return names
}

func (cl *cluster) postChat(u string, form url.Values) (chatAnswer, string, error) {
	var ans chatAnswer
	resp, err := cl.http.PostForm(u, form)
	if err != nil {
		return ans, "", err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
		return ans, "", fmt.Errorf("%s: %w", resp.Status, err)
	}
	return ans, resp.Header.Get("X-Chatha-Node"), nil
}

// closeChats ends the chats. (The node answers a client's disconnect with
// statusCode 2 and chatEnded; what matters here is that the chat ended.)
func (cl *cluster) closeChats(chats []chat) {
	for _, c := range chats {
		u := "http://" + c.service.addr + "/genesys/2/chat/support/" + c.id + "/disconnect"
		ans, _, err := cl.postChat(u, url.Values{"userId": {c.user}, "secureKey": {c.key}})
		if err != nil || !ans.ChatEnded {
			cl.t.Fatalf("disconnect chat %s: %+v, %v", c.id, ans, err)
		}
	}
}

// terminate stops p as the kubelet does: the main containers' preStop
// hooks (an exec hook as a process; chats are open, so a drain hook must
// wait for them to end), then SIGTERM to the main containers, then to the
// native sidecars in reverse order. Each must exit 0, and all within the
// pod's terminationGracePeriodSeconds.
func (cl *cluster) terminate(p *pod, chats []chat) {
	start := time.Now()
	cs := runningContainers(&p.w.template.Spec)
	for _, c := range cs {
		if !c.sidecar && c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Exec != nil {
			cl.runDrainHook(p, c, chats)
		}
	}
	grace := time.Duration(*p.w.template.Spec.TerminationGracePeriodSeconds) * time.Second
	for _, c := range append(mainContainers(cs), reversedSidecars(cs)...) {
		took, err := p.procs[c.Name].stop(grace)
		if err != nil {
			cl.t.Errorf("%s container %s: stop (SIGTERM): %v", p.w, c.Name, err)
		}
		cl.t.Logf("%s container %s stopped in %v", p.w, c.Name, took.Round(time.Millisecond))
	}
	if took := time.Since(start); took > grace {
		cl.t.Errorf("%s: the pod took %v to stop, more than its grace period %v", p.w, took, grace)
	}
}

func mainContainers(cs []container) []container {
	var out []container
	for _, c := range cs {
		if !c.sidecar {
			out = append(out, c)
		}
	}
	return out
}

func reversedSidecars(cs []container) []container {
	var out []container
	for i := len(cs) - 1; i >= 0; i-- {
		if cs[i].sidecar {
			out = append(out, cs[i])
		}
	}
	return out
}

// runDrainHook runs c's preStop exec hook in c's environment. While chats
// are open the node must turn draining and the hook must keep waiting;
// once they are closed the hook must return 0.
func (cl *cluster) runDrainHook(p *pod, c container, chats []chat) {
	// ctl counts a node's chats in its proxy's gossip view, which a node
	// updates every 250 ms, and does not wait for the view to show the
	// drain: wait until every proxy's view has the chats, as it has in a
	// running cluster for chats opened more than a moment ago.
	if err := cl.wantMember(p.w.podName, "active", len(chats)); err != nil {
		cl.t.Fatalf("%s: before the preStop hook: %v", p.w, err)
	}
	argv := cl.rewrite(p, c, c.Lifecycle.PreStop.Exec.Command)
	hook := startProc(cl.t, p.w.podName+"/"+c.Name+" preStop", argv, p.env[c.Name])
	if err := cl.wantMember(p.w.podName, "draining", len(chats)); err != nil {
		cl.t.Fatalf("%s: preStop hook: %v", p.w, err)
	}
	if hook.exitedYet() {
		cl.t.Fatalf("%s: the preStop hook returned (%v) while %d chats were open, want it to wait", p.w, hook.err, len(chats))
	}
	cl.closeChats(chats)
	if err := hook.wait(60 * time.Second); err != nil {
		cl.t.Fatalf("%s: preStop hook after the chats ended: %v", p.w, err)
	}
}

// clusterMember is a member as a proxy's GET /v1/cluster shows it.
type clusterMember struct {
	Name, Role, Mode string
	Sessions         int
}

// member asks the proxy at addr for its cluster view and returns the
// chat node called name.
func (cl *cluster) member(addr, name string) (clusterMember, error) {
	var view struct{ Members []clusterMember }
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/v1/cluster", nil)
	if err != nil {
		return clusterMember{}, err
	}
	// The proxies have the cluster token, which guards their cluster view.
	if token := cl.secrets["chatha-auth/cluster-token"]; token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := cl.http.Do(req)
	if err != nil {
		return clusterMember{}, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&view); err != nil {
		return clusterMember{}, err
	}
	for _, mb := range view.Members {
		if mb.Name == name && mb.Role == "node" {
			return mb, nil
		}
	}
	return clusterMember{}, fmt.Errorf("node %s is not in the cluster view of %s: %+v", name, addr, view.Members)
}

// wantMember polls the cluster view of every client Service's proxy until
// the chat node called name is in mode with sessions chats in each.
func (cl *cluster) wantMember(name, mode string, sessions int) error {
	for _, s := range cl.clientServices() {
		err := poll(30*time.Second, func() error {
			mb, err := cl.member(s.addr, name)
			if err == nil && (mb.Mode != mode || mb.Sessions != sessions) {
				err = fmt.Errorf("Service %s: node %s is %s with %d chats, want %s with %d", s.name, name, mb.Mode, mb.Sessions, mode, sessions)
			}
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// checkLogs: no process printed a token, the gossip key, a chat's secure
// key or a message.
func (cl *cluster) checkLogs(chats []chat) {
	secret := map[string]string{}
	for id, v := range cl.secrets {
		if !strings.HasPrefix(v, "sqlite:") {
			secret["Secret "+id] = v
		}
	}
	for _, c := range chats {
		secret["secure key of chat "+c.id], secret["message of chat "+c.id] = c.key, c.msg
	}
	for _, p := range cl.pods {
		for name, pr := range p.procs {
			for what, v := range secret {
				if strings.Contains(pr.out.String(), v) {
					cl.t.Errorf("%s container %s logged the %s", p.w, name, what)
				}
			}
		}
	}
}

// runExampleStore starts the chat node container with the example Secret's
// store URL, pointed at a closed port: the URL must parse (the node fails
// on connecting, with exit code 2) and the password must not be printed.
func runExampleStore(t *testing.T, m *manifests, binDir string) {
	cl := newCluster(t, m, binDir)
	var ran bool
	for _, w := range m.workloads() {
		for _, c := range runningContainers(&w.template.Spec) {
			for _, e := range c.Env {
				if e.Name == envName("store") && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					cl.runStore(w, c, e.ValueFrom.SecretKeyRef)
					ran = true
				}
			}
		}
	}
	if !ran {
		t.Fatal("no container reads its store URL from a Secret")
	}
}

func (cl *cluster) runStore(w workload, c container, ref *corev1.SecretKeySelector) {
	example, ok := secretValue(cl.m.secrets[ref.Name], ref.Key)
	if !ok {
		cl.t.Fatalf("Secret %s has no key %s", ref.Name, ref.Key)
	}
	u, password, err := closedStore(example, freePort(cl.t))
	if err != nil {
		cl.t.Fatalf("example store URL %q: %v", example, err)
	}
	p := cl.newPod(w)
	cl.pods = append(cl.pods, p) // --join resolves to it; the store fails first
	env, vars := cl.environment(p, c)
	for i, e := range env {
		if strings.HasPrefix(e, envName("store")+"=") {
			env[i] = envName("store") + "=" + u
		}
	}
	argv := cl.rewrite(p, c, expand(containerArgv(c.Container), vars))
	argv[0] = filepath.Join(cl.binDir, "chatha")
	node := startProc(cl.t, w.podName+"/"+c.Name+" example store", argv, env)
	err = node.wait(60 * time.Second)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(node.out.String(), "cannot open store") {
		cl.t.Fatalf("with the example store URL on a closed port, want exit code 2 and \"cannot open store\", got %v:\n%s", err, node.out.String())
	}
	if password != "" && strings.Contains(node.out.String(), password) {
		cl.t.Fatal("the node printed the store password")
	}
}

// closedStore points a cassandra:// URL at 127.0.0.1:port, where nothing
// listens, with a short connect timeout; it returns the URL and its password.
func closedStore(example string, port int32) (string, string, error) {
	rest, ok := strings.CutPrefix(example, "cassandra://")
	if !ok {
		return "", "", errors.New("not a cassandra:// URL")
	}
	_, pathQuery, ok := strings.Cut(rest, "/")
	if !ok {
		return "", "", errors.New("no keyspace")
	}
	keyspace, query, _ := strings.Cut(pathQuery, "?")
	q, err := url.ParseQuery(query)
	if err != nil {
		return "", "", err
	}
	q.Set("connect-timeout", "2s")
	return fmt.Sprintf("cassandra://127.0.0.1:%d/%s?%s", port, keyspace, q.Encode()), q.Get("password"), nil
}
