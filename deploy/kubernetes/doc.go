// Package kubernetes holds the tests of the Kubernetes manifests in this
// folder: every manifest decodes strictly against the Kubernetes API types,
// the objects' cross-references resolve (selectors, ports, probes, Secrets,
// ConfigMaps, environment variables against chatha's flags), and each pod's
// command lines run the real chatha binary, probes and preStop hook
// included. It is a Go module of its own, so the Kubernetes API types stay
// out of chatha's module graph.
package kubernetes
