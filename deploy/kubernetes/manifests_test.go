package kubernetes

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// kinds are the API types the manifests may use, by "apiVersion kind".
var kinds = map[string]func() any{
	"v1 Service":                    func() any { return &corev1.Service{} },
	"v1 ConfigMap":                  func() any { return &corev1.ConfigMap{} },
	"v1 Secret":                     func() any { return &corev1.Secret{} },
	"apps/v1 StatefulSet":           func() any { return &appsv1.StatefulSet{} },
	"apps/v1 Deployment":            func() any { return &appsv1.Deployment{} },
	"policy/v1 PodDisruptionBudget": func() any { return &policyv1.PodDisruptionBudget{} },
}

// manifests are the objects of every YAML file under a folder, by kind.
type manifests struct {
	statefulSets []*appsv1.StatefulSet
	deployments  []*appsv1.Deployment
	services     []*corev1.Service
	pdbs         []*policyv1.PodDisruptionBudget
	configMaps   map[string]*corev1.ConfigMap
	secrets      map[string]*corev1.Secret
	// meta is every object's metadata with the file it came from.
	meta []objectMeta
}

// objectMeta is the metadata of one object and where it was read.
type objectMeta struct {
	file, kind string
	meta       *metav1.ObjectMeta
}

// workload is a pod template and the object that makes pods from it.
type workload struct {
	kind, name string
	replicas   int32
	selector   *metav1.LabelSelector
	template   *corev1.PodTemplateSpec
	// podName is the name of the pod the test runs: NAME-0 for a
	// StatefulSet, NAME-test for a Deployment (whose pod names are random).
	podName string
}

// loadManifests decodes every .yaml file under dir, strictly.
func loadManifests(t testing.TB, dir string) *manifests {
	t.Helper()
	m, err := readManifests(dir)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func readManifests(dir string) (*manifests, error) {
	m := &manifests{configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{}}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || (filepath.Ext(path) != ".yaml" && filepath.Ext(path) != ".yml") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, doc := range splitDocuments(data) {
			obj, err := decode(doc)
			if err != nil {
				return fmt.Errorf("%s, document %d: %w", path, i+1, err)
			}
			if err := m.add(path, obj); err != nil {
				return err
			}
		}
		return nil
	})
	return m, err
}

// documentSeparator is a YAML document separator line.
var documentSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// splitDocuments returns the YAML documents of data that hold something
// besides comments.
func splitDocuments(data []byte) [][]byte {
	var docs [][]byte
	for _, doc := range documentSeparator.Split(string(data), -1) {
		var v any
		if err := yaml.Unmarshal([]byte(doc), &v); err != nil || v != nil {
			docs = append(docs, []byte(doc)) // a broken document is kept so decode reports it
		}
	}
	return docs
}

// decode reads one document into the API type its apiVersion and kind
// name. Unknown or duplicate fields and values of the wrong type fail.
func decode(doc []byte) (any, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return nil, fmt.Errorf("cannot read apiVersion and kind: %w", err)
	}
	mk, ok := kinds[tm.APIVersion+" "+tm.Kind]
	if !ok {
		return nil, fmt.Errorf("apiVersion %q kind %q is not a kind these manifests use", tm.APIVersion, tm.Kind)
	}
	// As the API server does: YAML to JSON (duplicate keys fail), then
	// case-sensitive JSON decoding that names the path of unknown fields.
	data, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", tm.Kind, err)
	}
	obj := mk()
	strictErrs, err := kjson.UnmarshalStrict(data, obj, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err == nil {
		err = errors.Join(strictErrs...)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot decode %s: %w", tm.Kind, err)
	}
	return obj, nil
}

func (m *manifests) add(file string, obj any) error {
	var meta *metav1.ObjectMeta
	switch o := obj.(type) {
	case *corev1.Service:
		m.services, meta = append(m.services, o), &o.ObjectMeta
	case *corev1.ConfigMap:
		m.configMaps[o.Name], meta = o, &o.ObjectMeta
	case *corev1.Secret:
		m.secrets[o.Name], meta = o, &o.ObjectMeta
	case *appsv1.StatefulSet:
		m.statefulSets, meta = append(m.statefulSets, o), &o.ObjectMeta
	case *appsv1.Deployment:
		m.deployments, meta = append(m.deployments, o), &o.ObjectMeta
	case *policyv1.PodDisruptionBudget:
		m.pdbs, meta = append(m.pdbs, o), &o.ObjectMeta
	default:
		return fmt.Errorf("%s: no place for a %T", file, obj)
	}
	m.meta = append(m.meta, objectMeta{file: file, kind: strings.TrimPrefix(fmt.Sprintf("%T", obj), "*"), meta: meta})
	return nil
}

// workloads returns the pod templates: StatefulSets first, as the other
// pods join the cluster through them.
func (m *manifests) workloads() []workload {
	var ws []workload
	for _, s := range m.statefulSets {
		ws = append(ws, workload{kind: "StatefulSet", name: s.Name, replicas: replicas(s.Spec.Replicas), selector: s.Spec.Selector, template: &s.Spec.Template, podName: s.Name + "-0"})
	}
	for _, d := range m.deployments {
		ws = append(ws, workload{kind: "Deployment", name: d.Name, replicas: replicas(d.Spec.Replicas), selector: d.Spec.Selector, template: &d.Spec.Template, podName: d.Name + "-test"})
	}
	return ws
}

// replicas is a workload's replica count: 1 when not set, as in Kubernetes.
func replicas(n *int32) int32 {
	if n == nil {
		return 1
	}
	return *n
}

func (w workload) String() string { return w.kind + " " + w.name }

// container is a container of a pod template that runs for the pod's
// life: a regular container or a native sidecar (an init container with
// restartPolicy Always).
type container struct {
	*corev1.Container
	sidecar bool
}

// runningContainers returns the long-running containers of spec in the
// order the kubelet starts them: native sidecars, then the others.
func runningContainers(spec *corev1.PodSpec) []container {
	var cs []container
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			cs = append(cs, container{Container: c, sidecar: true})
		}
	}
	for i := range spec.Containers {
		cs = append(cs, container{Container: &spec.Containers[i]})
	}
	return cs
}

// secretValue returns key of a Secret, from data or stringData.
func secretValue(s *corev1.Secret, key string) (string, bool) {
	if v, ok := s.StringData[key]; ok {
		return v, true
	}
	v, ok := s.Data[key]
	return string(v), ok
}

// TestStrictDecoding shows that decode rejects what a lax decoder would
// let through.
func TestStrictDecoding(t *testing.T) {
	const svc = "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n"
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"unknown field", svc + "  selectr:\n    app: x\n", `unknown field "spec.selectr"`},
		{"field in the wrong case", svc + "  Selector:\n    app: x\n", `unknown field "spec.Selector"`},
		{"unknown nested field", svc + "  ports:\n    - port: 80\n      targetPrt: 8080\n", `unknown field "spec.ports[0].targetPrt"`},
		{"duplicate field", svc + "  type: ClusterIP\n  type: NodePort\n", `"type" already set`},
		{"wrong type", svc + "  ports:\n    - port: eighty\n", "cannot unmarshal"},
		{"wrong type of map", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  labels: [a]\n", "cannot unmarshal array"},
		{"pod (not a kind used)", "apiVersion: v1\nkind: Pod\n", "is not a kind"},
		{"unknown kind", "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: d\n", "is not a kind"},
		{"old apiVersion", "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\n", "is not a kind"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decode([]byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("decode: got error %v, want one with %q", err, tc.want)
			}
		})
	}
	if _, err := decode([]byte(svc + "  ports:\n    - port: 80\n")); err != nil {
		t.Fatalf("a valid Service: %v", err)
	}
	if docs := splitDocuments(bytes.Repeat([]byte("# comment\n---\n"), 3)); len(docs) != 0 {
		t.Fatalf("documents of comments only: got %d, want 0", len(docs))
	}
}
