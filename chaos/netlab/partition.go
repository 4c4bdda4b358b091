package netlab

import (
	"errors"
	"fmt"
	"maps"
	"slices"
)

// Preferences of the policy-routing rules in a member's namespace: the rules
// of Block come first, then the local table, which is at 0 before the lab
// moves it.
const (
	blockRulePref = 100 // + index of the member whose packets are dropped
	localRulePref = 1000
)

// Isolate cuts member name off the lab: its bridge port goes down, so no
// packet reaches it or leaves it, to or from members and host alike.
func (l *Lab) Isolate(name string) error {
	i, err := l.index(name)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	if err := l.run("-n", l.hub, "link", "set", l.members[i].port, "down"); err != nil {
		return fmt.Errorf("cannot isolate %s: %w", name, err)
	}
	return nil
}

// Heal undoes Isolate of member name and every Block from or to it.
func (l *Lab) Heal(name string) error {
	i, err := l.index(name)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	return l.heal(i)
}

// HealAll heals every member.
func (l *Lab) HealAll() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	var errs []error
	for i := range l.members {
		errs = append(errs, l.heal(i))
	}
	return errors.Join(errs...)
}

// heal brings member i's port up and lifts its blocks. The caller holds l.mu.
func (l *Lab) heal(i int) error {
	name := l.members[i].Name
	if err := l.run("-n", l.hub, "link", "set", l.members[i].port, "up"); err != nil {
		return fmt.Errorf("cannot heal %s: %w", name, err)
	}
	for _, pair := range slices.Collect(maps.Keys(l.blocked)) {
		if pair[0] == i || pair[1] == i {
			if err := l.unblock(pair[0], pair[1]); err != nil {
				return fmt.Errorf("cannot heal %s: %w", name, err)
			}
		}
	}
	return nil
}

// Block drops every packet from member from at member to, silently. The
// other direction still flows (datagrams from to reach from), but TCP
// between them fails both ways, since it needs both.
func (l *Lab) Block(from, to string) error {
	f, t, err := l.pair(from, to)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	if l.blocked[[2]int{f, t}] {
		return nil
	}
	if err := l.run("-n", l.members[t].Namespace, "rule", "add", "pref", fmt.Sprint(blockRulePref+f),
		"from", l.members[f].Addr.String(), "iif", "eth0", "blackhole"); err != nil {
		return fmt.Errorf("cannot block %s from %s: %w", to, from, err)
	}
	l.blocked[[2]int{f, t}] = true
	return nil
}

// Unblock undoes Block(from, to).
func (l *Lab) Unblock(from, to string) error {
	f, t, err := l.pair(from, to)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	return l.unblock(f, t)
}

// Partition blocks members a and b from each other, both ways.
func (l *Lab) Partition(a, b string) error {
	return errors.Join(l.Block(a, b), l.Block(b, a))
}

// unblock removes the block of packets from member f at member t. The
// caller holds l.mu.
func (l *Lab) unblock(f, t int) error {
	if !l.blocked[[2]int{f, t}] {
		return nil
	}
	if err := l.run("-n", l.members[t].Namespace, "rule", "del", "pref", fmt.Sprint(blockRulePref+f)); err != nil {
		return fmt.Errorf("cannot unblock %s from %s: %w", l.members[t].Name, l.members[f].Name, err)
	}
	delete(l.blocked, [2]int{f, t})
	return nil
}

func (l *Lab) index(name string) (int, error) {
	i, ok := l.byName[name]
	if !ok {
		return 0, fmt.Errorf("%w %q", ErrUnknownMember, name)
	}
	return i, nil
}

func (l *Lab) pair(from, to string) (int, int, error) {
	f, err := l.index(from)
	if err != nil {
		return 0, 0, err
	}
	t, err := l.index(to)
	if err != nil {
		return 0, 0, err
	}
	if f == t {
		return 0, 0, fmt.Errorf("cannot block %s from itself", from)
	}
	return f, t, nil
}
