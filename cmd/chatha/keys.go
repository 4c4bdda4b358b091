package main

import (
	"bytes"
	"encoding/base64"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/chatha/chatha/membership"
)

// gossipKeys are the gossip encryption keys of a member: the one it encrypts
// with, and others it also accepts while a rotation is under way.
type gossipKeys struct {
	primary []byte
	accept  [][]byte
}

// parseGossipKeys decodes --gossip-key and --gossip-keys (base64, comma separated).
func parseGossipKeys(primary, accept string) (gossipKeys, error) {
	var k gossipKeys
	var err error
	if primary == "" {
		if accept != "" {
			return k, fmt.Errorf("--gossip-keys needs --gossip-key")
		}
		return k, nil
	}
	if k.primary, err = base64.StdEncoding.DecodeString(primary); err != nil {
		return k, fmt.Errorf("--gossip-key is not base64: %w", err)
	}
	for _, s := range strings.Split(accept, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return k, fmt.Errorf("--gossip-keys has a key that is not base64: %w", err)
		}
		k.accept = append(k.accept, b)
	}
	return k, nil
}

// apply makes the member's keyring hold exactly these keys, encrypting with
// the primary one: install the new keys, switch, then remove the others.
func (k gossipKeys) apply(m *membership.Member) error {
	for _, key := range append([][]byte{k.primary}, k.accept...) {
		if err := m.InstallKey(key); err != nil {
			return err
		}
	}
	if err := m.UseKey(k.primary); err != nil {
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

func (k gossipKeys) has(key []byte) bool {
	if bytes.Equal(key, k.primary) {
		return true
	}
	for _, a := range k.accept {
		if bytes.Equal(key, a) {
			return true
		}
	}
	return false
}

// pinnedKeys returns the gossip key flags given on the command line: a reload
// keeps them, as a flag beats the environment and the config.
func pinnedKeys(fs *flag.FlagSet, given map[string]bool) map[string]string {
	pinned := map[string]string{}
	for _, name := range []string{"gossip-key", "gossip-keys"} {
		if given[name] {
			pinned[name] = fs.Lookup(name).Value.String()
		}
	}
	return pinned
}

// reloadKeysOnHUP rotates gossip keys without a restart: on SIGHUP the member
// reads gossip-key and gossip-keys again (command line, environment, config
// file, in that order) and makes its keyring hold exactly those keys.
func reloadKeysOnHUP(m *membership.Member, configPath string, pinned map[string]string, log *slog.Logger) func() {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-hup:
				if err := reloadKeys(m, configPath, pinned); err != nil {
					log.Error("cannot rotate gossip keys", "err", err)
				} else {
					log.Info("gossip keys reloaded")
				}
			case <-done:
				return
			}
		}
	}()
	return func() { signal.Stop(hup); close(done) }
}

func reloadKeys(m *membership.Member, configPath string, pinned map[string]string) error {
	conf, err := loadConfig(&configPath)
	if err != nil {
		return err
	}
	value := func(name string) string {
		if v, ok := pinned[name]; ok {
			return v
		}
		if v, ok := os.LookupEnv(envName(name)); ok {
			return v
		}
		return conf[name]
	}
	keys, err := parseGossipKeys(value("gossip-key"), value("gossip-keys"))
	if err != nil {
		return err
	}
	if keys.primary == nil {
		return fmt.Errorf("no gossip-key: gossip encryption cannot be turned off while running")
	}
	return keys.apply(m)
}
