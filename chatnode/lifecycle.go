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
	"time"

	"github.com/chatha/chatha/chatid"
	"github.com/chatha/chatha/membership"
)

// newSecret returns n random bytes in hex.
func (n *Node) newSecret(size int) (string, error) {
	b := make([]byte, size)
	if _, err := io.ReadFull(n.cfg.Rand, b); err != nil {
		return "", fmt.Errorf("cannot read random bytes: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// newParty returns a participant with fresh ids and its secure key in clear.
func (n *Node) newParty(id int, nick string, t chat.PartyType) (chat.Party, string, error) {
	userID, err := n.newSecret(8)
	if err != nil {
		return chat.Party{}, "", err
	}
	key, err := n.newSecret(20) // 160 bits
	if err != nil {
		return chat.Party{}, "", err
	}
	h := sha256.Sum256([]byte(key))
	return chat.Party{ID: id, UserID: userID, Nick: nick, Type: t, KeyHash: h[:]}, key, nil
}

// create starts a new chat for req and returns it with the creator's secure key.
func (n *Node) create(ctx context.Context, service string, req *api.Request, reqID string) (*session, string, error) {
	if m := n.Mode(); m != membership.ModeActive {
		return nil, "", api.Unavailable("it is " + m.String())
	}
	id, err := chatid.New(n.home, n.cfg.Rand)
	if err != nil {
		return nil, "", err
	}
	creator, key, err := n.newParty(1, req.Name(), chat.PartyClient)
	if err != nil {
		return nil, "", err
	}
	cr := chat.Creation{Subject: req.Subject, Email: req.Email, UserData: req.UserData, Creator: creator}
	row := chat.SessionRow{ChatID: id, Service: service, CreatedAt: n.now().UTC().Truncate(time.Millisecond), Data: cr.Encode()}
	s := &session{Session: chat.NewSession(row, cr), epoch: n.epoch.Load()}
	evs := []chat.Entry{{Type: chat.EventParticipantJoined, From: 1}}
	if req.Text != "" {
		evs = append(evs, chat.Entry{Type: chat.EventMessage, From: 1, Text: req.Text, MType: req.MessageType})
	}
	b := n.prepare(s, reqID, evs)
	if n.cfg.Settings.AutoSave.Appends() {
		start := time.Now()
		err := n.retry(ctx, func(c context.Context) error { return n.cfg.Store.Create(c, row, b.recs) }, never)
		n.kpi.saveSeconds.UpdateDuration(start)
		if err != nil {
			n.kpi.saveFailed.Inc()
			return nil, "", api.StoreFailed(err)
		}
		n.kpi.saveOK.Inc()
	}
	n.apply(s, b, reqID)
	n.chats.put(s)
	n.kpi.created.Inc()
	n.log.Info("chat created", "chat", id, "service", service)
	return s, key, nil
}

// restore rebuilds a chat from the store, appends the restore notices (which
// fences the previous owner) and returns it, not yet in the node's map.
func (n *Node) restore(ctx context.Context, id string) (*session, error) {
	if _, err := chatid.Parse(id); err != nil {
		return nil, api.ErrUnknownChat
	}
	s, err := n.load(ctx, id)
	if err != nil {
		return nil, err
	}
	previous := s.Writer()
	s.epoch = n.epoch.Load()
	s.Restart(n.now())
	if s.Ended() {
		return s, nil
	}
	s.mu.Lock()
	err = n.commit(ctx, s, "", n.restoreNotices(s)...)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	n.kpi.restored.Inc()
	n.log.Info("chat restored", "chat", id, "previous", previous)
	n.purgePrevious(previous, id)
	return s, nil
}

// load reads a chat from the store and replays it.
func (n *Node) load(ctx context.Context, id string) (*session, error) {
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
