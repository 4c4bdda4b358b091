package membership

import (
	"fmt"
	"slices"

	"github.com/hashicorp/memberlist"
)

// Gossip keys rotate without a restart, one step on every member before
// the next step starts:
//
//  1. InstallKey(new) everywhere: every member can decrypt with it.
//  2. UseKey(new) everywhere: members encrypt with it.
//  3. RemoveKey(old) everywhere.
//
// These methods change this member's keyring only; the operator (or chatha
// ctl) runs each step on every member.

// InstallKey adds key (16, 24 or 32 bytes) to the keys this member accepts.
func (m *Member) InstallKey(key []byte) error {
	k, err := m.keyring()
	if err != nil {
		return err
	}
	if err := k.AddKey(slices.Clone(key)); err != nil {
		return fmt.Errorf("cannot install gossip key: %w", err)
	}
	return nil
}

// UseKey makes an installed key the one this member encrypts with.
func (m *Member) UseKey(key []byte) error {
	k, err := m.keyring()
	if err != nil {
		return err
	}
	if err := k.UseKey(key); err != nil {
		return fmt.Errorf("cannot use gossip key: %w", err)
	}
	return nil
}

// RemoveKey removes a key that is not in use.
func (m *Member) RemoveKey(key []byte) error {
	k, err := m.keyring()
	if err != nil {
		return err
	}
	if err := k.RemoveKey(key); err != nil {
		return fmt.Errorf("cannot remove gossip key: %w", err)
	}
	return nil
}

// Keys returns copies of the installed keys, the one in use first.
func (m *Member) Keys() ([][]byte, error) {
	k, err := m.keyring()
	if err != nil {
		return nil, err
	}
	keys := k.GetKeys()
	out := make([][]byte, len(keys))
	for i, key := range keys {
		out[i] = slices.Clone(key)
	}
	return out, nil
}

// keyring returns the keyring memberlist encrypts with.
func (m *Member) keyring() (*memberlist.Keyring, error) {
	if m.closed.Load() {
		return nil, ErrShutdown
	}
	if m.mc.Keyring == nil {
		return nil, ErrNoEncryption
	}
	return m.mc.Keyring, nil
}
