package chatnode

import (
	"github.com/chatha/chatha/api"

	"github.com/chatha/chatha/chat"

	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/chatha/chatha/chatid"
)

// keySize is the size of a secure key in bytes: 160 bits.
const keySize = 20

// newSecret returns n random bytes in hex.
func (n *Node) newSecret(size int) (string, error) {
	b := make([]byte, size)
	if _, err := io.ReadFull(n.cfg.Rand, b); err != nil {
		return "", fmt.Errorf("cannot read random bytes: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// newParty returns a participant with a fresh userId and its secure key in
// clear: key, or a random one when key is "".
func (n *Node) newParty(id int, nick string, t chat.PartyType, key string) (chat.Party, string, error) {
	userID, err := n.newSecret(8)
	if err != nil {
		return chat.Party{}, "", err
	}
	if key == "" {
		if key, err = n.newSecret(keySize); err != nil {
			return chat.Party{}, "", err
		}
	}
	h := sha256.Sum256([]byte(key))
	return chat.Party{ID: id, UserID: userID, Nick: nick, Type: t, KeyHash: h[:]}, key, nil
}

// takeOver makes a loaded chat this node's: it appends the restore notices,
// which fences the previous owner, and asks that owner to purge its copy. An
// ended chat is only held, read-only, and finished: its live rows are still
// there, so its final save may never have happened (finish.go). s is not
// shared yet.
func (n *Node) takeOver(ctx context.Context, s *session) error {
	previous := s.Writer()
	s.epoch = n.epoch.Load()
	s.Restart(n.now())
	if s.Ended() {
		n.finishLater(s.ID, nil, s.Final(n.finalKeeps), 0, "it was loaded ended, before its final save")
		return nil
	}
	s.mu.Lock()
	err := n.fence(ctx, s, n.restoreNotices(s)...)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	n.kpi.restored.Inc()
	n.log.Info("chat restored", "chat", s.ID, "previous", previous)
	n.purgePrevious(previous, s.ID, s.Seq())
	return nil
}

// load reads a chat from the store and replays it; it writes nothing.
func (n *Node) load(ctx context.Context, id string) (*session, error) {
	if _, err := chatid.Parse(id); err != nil {
		return nil, api.ErrUnknownChat
	}
	c, cancel := n.storeCtx(ctx)
	defer cancel()
	row, recs, err := n.cfg.Store.Load(c, id)
	if errors.Is(err, chat.ErrUnknownChat) {
		if _, terr := n.cfg.Store.Transcript(c, id); terr == nil {
			return nil, api.ErrEnded
		}
		return nil, api.ErrUnknownChat
	}
	if err != nil {
		return nil, api.StoreFailed(err)
	}
	cs, err := chat.Replay(row, recs)
	if err != nil {
		n.log.Error("cannot restore chat", "chat", id, "err", err)
		return nil, api.StoreFailed(err)
	}
	return &session{Session: cs}, nil
}

// restoreNotices are the events a restore appends: an internal Restored record,
// then what restore-notices asks clients to see.
func (n *Node) restoreNotices(s *session) []chat.Entry {
	evs := []chat.Entry{{Type: chat.EventRestored}}
	switch n.cfg.Settings.RestoreNotices {
	case RestoreNoticesNotice:
		evs = append(evs, chat.Entry{Type: chat.EventNotice, Text: "the chat moved to another server"})
	case RestoreNoticesParticipants:
		for _, p := range s.Participants() {
			if p.Present {
				evs = append(evs, chat.Entry{Type: chat.EventParticipantLeft, From: p.ID}, chat.Entry{Type: chat.EventParticipantJoined, From: p.ID})
			}
		}
	}
	return evs
}
