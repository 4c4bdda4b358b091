package main

import (
	"flag"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/chatha/chatha/membership"
)

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

// reloadKeysOnHUP rotates gossip keys without a restart: on SIGHUP it reads
// gossip-key and gossip-keys again (command line, environment, config file,
// in that order) and gives them to the member (membership.Member.SetKeys).
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
	keys, err := membership.ParseKeys(value("gossip-key"), value("gossip-keys"))
	if err != nil {
		return err
	}
	return m.SetKeys(keys)
}
