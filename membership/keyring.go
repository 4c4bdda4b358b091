package membership

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/memberlist"
)

// Gossip keys rotate without a restart, one step on every member before
// the next step starts:
//
//  1. InstallKey(new) everywhere: every member can decrypt with it.
//  2. UseKey(new) everywhere: members encrypt with it.
//  3. RemoveKey(old) everywhere.
//
// These methods change this member's keyring only; the operator runs each
// step on every member. SetKeys does the steps a config reload asks for.

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

// Keys are the gossip keys of a member: the one it encrypts with, and others
// it also accepts while a rotation is under way.
type Keys struct {
	// Primary encrypts; nil turns encryption off.
	Primary []byte
	// Accept are more keys accepted for decryption.
	Accept [][]byte
}

// ParseKeys decodes the gossip-key and gossip-keys options: base64 keys,
// gossip-keys comma separated.
func ParseKeys(primary, accept string) (Keys, error) {
	var k Keys
	var err error
	if primary == "" {
		if accept != "" {
			return k, errors.New("gossip-keys needs gossip-key")
		}
		return k, nil
	}
	if k.Primary, err = base64.StdEncoding.DecodeString(primary); err != nil {
		return k, fmt.Errorf("gossip-key is not base64: %w", err)
	}
	for _, s := range strings.Split(accept, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return k, fmt.Errorf("gossip-keys has a key that is not base64: %w", err)
		}
		k.Accept = append(k.Accept, b)
	}
	return k, nil
}

// has reports whether key is one of k.
func (k Keys) has(key []byte) bool {
	return bytes.Equal(key, k.Primary) || slices.ContainsFunc(k.Accept, func(a []byte) bool { return bytes.Equal(key, a) })
}

// SetKeys makes this member's keyring hold exactly k, encrypting with
// k.Primary, in the order a rotation needs: install the new keys, switch to
// the primary one, then remove the others. Run on every member, one rotation
// step at a time (see the top of this file), it rotates without a restart.
func (m *Member) SetKeys(k Keys) error {
	if k.Primary == nil {
		return errors.New("cannot set gossip keys: no primary key (encryption cannot be turned off while running)")
	}
	for _, key := range append([][]byte{k.Primary}, k.Accept...) {
		if err := m.InstallKey(key); err != nil {
			return err
		}
	}
	if err := m.UseKey(k.Primary); err != nil {
		return err
	}
	installed, err := m.Keys()
	if err != nil {
		return err
	}
	for _, key := range installed {
		if !k.has(key) {
			if err := m.RemoveKey(key); err != nil {
				return err
			}
		}
	}
	return nil
}
