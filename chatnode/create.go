package chatnode

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/chat"
	"github.com/chatha/chatha/chatid"
)

// A create is idempotent by its X-Request-Id on any node. Before it writes
// the chat, the node claims the request id for the new chat id in the store
// (chat.Claimer), and it derives the creator's secure key from the request id
// and the chat id with a keyed hash under the cluster's create secret
// (Config.CreateSecret). A retry, on this node or another, finds the claim,
// checks that it asks the same (the fingerprint stored with the chat's first
// record), derives the same key, checks it against the stored key hash, and
// answers the same chat, restoring it like any other request would. The store
// never holds the secret or a key in clear.
//
// Only request ids of minClaimedID characters or more are claimed: the claim
// is global, not per chat, and two clients that both send "1" must not meet.

// minClaimedID is the shortest X-Request-Id a create is idempotent by.
const minClaimedID = 16

// createRounds bounds how often a create goes back and forth between its
// claim and a chat that another attempt of it is writing at the same time.
const createRounds = 3

// create answers a create request: a new chat, or the chat the same request
// made before.
func (n *Node) create(ctx context.Context, service string, req *api.Request, reqID string) (*api.Answer, error) {
	var r request
	if len(reqID) >= minClaimedID {
		r = request{id: reqID, print: req.Fingerprint("create "+service, 0)}
	}
	id := ""
	for range createRounds {
		resp, claimed, err := n.createNew(ctx, service, req, r, id)
		if claimed == "" {
			return resp, err
		}
		resp, err = n.createdBefore(ctx, claimed, req, r)
		if !errors.Is(err, api.ErrUnknownChat) {
			return resp, err
		}
		// Claimed, but not written: that attempt stopped between the two, or
		// is still under way. Write the chat it claimed; one of the two wins.
		id = claimed
	}
	return nil, api.StoreFailed(errors.New("a create with this request id is being carried out elsewhere"))
}

// createNew writes a new chat for req, with chat id id ("": a new one). When
// r's id turns out to be claimed for a chat already, it writes nothing and
// returns that chat's id.
func (n *Node) createNew(ctx context.Context, service string, req *api.Request, r request, id string) (*api.Answer, string, error) {
	if mode, ok := n.chats.reserve(); !ok {
		return nil, "", api.Unavailable("it is " + mode.String())
	}
	s, key, claimed, err := n.write(ctx, service, req, r, id)
	if err != nil || claimed != "" {
		n.chats.release()
		return nil, claimed, err
	}
	n.chats.admit(s)
	n.kpi.created.Inc()
	n.log.Info("chat created", "chat", s.ID, "service", service)
	s.mu.Lock()
	defer s.mu.Unlock()
	resp := n.replyInFull(s, s.Participant(1), req.Position(1))
	resp.SecureKey = key
	return resp, "", nil
}

// write builds a new chat and stores it: the claim of its request id, then
// the chat. It returns the session, not yet held, and the creator's key.
func (n *Node) write(ctx context.Context, service string, req *api.Request, r request, id string) (*session, string, string, error) {
	var err error
	if id == "" {
		if id, err = chatid.New(n.home, n.cfg.Rand); err != nil {
			return nil, "", "", err
		}
	}
	creator, key, err := n.newParty(1, req.Name(), chat.PartyClient, n.creatorKey(r.id, id))
	if err != nil {
		return nil, "", "", err
	}
	cr := chat.Creation{Subject: req.Subject, Email: req.Email, UserData: req.UserData, Creator: creator}
	row := chat.SessionRow{ChatID: id, Service: service, CreatedAt: n.now().UTC().Truncate(time.Millisecond), Data: cr.Encode()}
	s := &session{Session: chat.NewSession(row, cr), epoch: n.epoch.Load()}
	evs := []chat.Entry{{Type: chat.EventParticipantJoined, From: 1}}
	if req.Text != "" {
		evs = append(evs, chat.Entry{Type: chat.EventMessage, From: 1, Text: req.Text, MType: req.MessageType})
	}
	b := n.prepare(s, r, evs)
	if n.cfg.Settings.AutoSave.Appends() {
		if claimed, err := n.store(ctx, row, b.recs, r, req.UserData); claimed != "" || err != nil {
			return nil, "", claimed, err
		}
	} else if err := n.index(ctx, id, req.UserData); err != nil {
		return nil, "", "", err
	}
	n.apply(s, b, r)
	return s, key, "", nil
}

// store claims r's id for the chat of row, indexes its userData, then
// creates the chat. It returns the chat the id is claimed for when that is
// another one, or when the chat of row was written meanwhile by another
// attempt of the same request.
func (n *Node) store(ctx context.Context, row chat.SessionRow, recs []chat.Record, r request, data map[string]string) (string, error) {
	if r.id != "" {
		var owner string
		err := n.retry(ctx, func(c context.Context) (err error) {
			owner, err = n.cfg.Store.Claim(c, r.id, row.ChatID)
			return err
		}, never)
		if err != nil {
			n.kpi.saveFailed.Inc()
			return "", api.StoreFailed(err)
		}
		if owner != row.ChatID {
			return owner, nil
		}
	}
	if err := n.index(ctx, row.ChatID, data); err != nil {
		return "", err
	}
	start := time.Now()
	err := n.retry(ctx, func(c context.Context) error { return n.cfg.Store.Create(c, row, recs) }, isExists)
	n.kpi.saveSeconds.UpdateDuration(start)
	if r.id != "" && errors.Is(err, chat.ErrChatExists) {
		return row.ChatID, nil
	}
	if err != nil {
		n.kpi.saveFailed.Inc()
		return "", api.StoreFailed(err)
	}
	n.kpi.saveOK.Inc()
	return "", nil
}

func isExists(err error) bool { return errors.Is(err, chat.ErrChatExists) }

// createdBefore answers a create retried with r: the chat with id, which r's
// request made, with the creator's key derived again.
func (n *Node) createdBefore(ctx context.Context, id string, req *api.Request, r request) (*api.Answer, error) {
	key := n.creatorKey(r.id, id)
	var resp *api.Answer
	err := n.withSession(ctx, id, creatorAuth(r, key), func(s *session, p *chat.Participant) error {
		p.LastSeen = n.now()
		resp = n.replyInFull(s, p, req.Position(1))
		resp.SecureKey = key
		return nil
	})
	return resp, err
}

// creatorAuth accepts a create retried with r as the chat's creator when the
// chat was made by r's request id with the same fingerprint, and key is the
// creator's key.
func creatorAuth(r request, key string) authFunc {
	return func(s *chat.Session) (*chat.Participant, error) {
		if s.Request(r.id, r.print) != chat.SeenSame {
			return nil, api.ErrRequestReused
		}
		p := s.Participant(1)
		if p == nil || s.Authenticate(p.UserID, key) != p {
			return nil, api.ErrKeyLost
		}
		return p, nil
	}
}

// creatorKey derives the creator's secure key of chat id from the create's
// request id: HMAC-SHA256 under the create secret, 160 bits in hex. Without a
// request id it returns "", for a random key.
func (n *Node) creatorKey(requestID, id string) string {
	if requestID == "" {
		return ""
	}
	m := hmac.New(sha256.New, n.cfg.CreateSecret)
	m.Write([]byte("chatha create key\x00"))
	m.Write([]byte(requestID))
	m.Write([]byte{0})
	m.Write([]byte(id))
	return hex.EncodeToString(m.Sum(nil)[:keySize])
}
