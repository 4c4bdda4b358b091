package netlab

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Close removes everything the lab created: the host link and every
// namespace, with the links and rules inside them. It reports processes
// still running in the lab (they keep their namespace alive until they
// exit). Closing twice is a no-op.
func (l *Lab) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	var errs []error
	if l.hostIf != "" {
		errs = append(errs, l.removeHostLink())
	}
	for _, ns := range slices.Backward(l.created) {
		errs = append(errs, l.removeNamespace(ns))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cannot remove network lab %s: %w", l.id, err)
	}
	return nil
}

// removeHostLink deletes the host link unless it went already.
func (l *Lab) removeHostLink() error {
	if err := l.run("link", "show", l.hostIf); err != nil {
		return nil // gone
	}
	return l.run("link", "del", l.hostIf)
}

// removeNamespace deletes namespace ns, reporting processes left in it.
func (l *Lab) removeNamespace(ns string) error {
	pids, err := l.output("netns", "pids", ns)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	} else if p := strings.Fields(pids); len(p) > 0 {
		errs = append(errs, fmt.Errorf("processes %v still run in namespace %s", p, ns))
	}
	return errors.Join(append(errs, l.run("netns", "del", ns))...)
}

// Leftovers returns the names of the lab's namespaces and host link that
// exist now: all of them while the lab is open, none after a clean Close.
func (l *Lab) Leftovers() ([]string, error) {
	var left []string
	out, err := l.output("netns", "list")
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], "chatha-"+l.id+"-") {
			left = append(left, f[0])
		}
	}
	out, err = l.output("-o", "link", "show")
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(f[1], "chl"+l.id) {
			left = append(left, strings.TrimSuffix(strings.SplitN(f[1], "@", 2)[0], ":"))
		}
	}
	return left, nil
}
