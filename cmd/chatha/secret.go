package main

import (
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"

	"github.com/chatha/chatha/membership"
)

// minCreateSecret is the shortest --create-secret accepted.
const minCreateSecret = 16

// createSecretInfo tells the create secret apart from anything else derived
// from the same credential.
const createSecretInfo = "chatha create secret v1"

// createSecret returns the key under which a node derives the secure key of a
// create from its request id (chatnode.Config.CreateSecret), and the flag it
// comes from: --create-secret, else the cluster token, else the gossip key,
// each through HKDF-SHA256, so that every node of a cluster derives the same
// keys without one more credential to hand out. With none of them it returns
// nil: the node picks a random secret, and a create retried on another node
// cannot be answered with its key.
func createSecret(f *nodeFlags) ([]byte, string, error) {
	from, source := "", ""
	switch {
	case f.createSecret != "":
		if len(f.createSecret) < minCreateSecret {
			return nil, "", usageError{fmt.Errorf("--create-secret must be at least %d characters", minCreateSecret)}
		}
		from, source = f.createSecret, "create-secret"
	case f.clusterToken != "":
		from, source = f.clusterToken, "cluster-token"
	case f.gossipKey != "":
		keys, err := membership.ParseKeys(f.gossipKey, "")
		if err != nil {
			return nil, "", usageError{err}
		}
		from, source = string(keys.Primary), "gossip-key"
	default:
		return nil, "", nil
	}
	key, err := hkdf.Key(sha256.New, []byte(from), nil, createSecretInfo, 32)
	if err != nil {
		return nil, "", fmt.Errorf("cannot derive the create secret: %w", err)
	}
	return key, source, nil
}
