package check

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/anishathalye/porcupine"
)

// never is the return time of a send that was never acknowledged: it may take
// effect at any time after its call, or (linearized after everything else)
// not at all. This is how porcupine models an operation that did not finish.
const never = math.MaxInt64

// modelInput is a transcript operation: a send appends text, a read returns
// the messages from message offset on.
type modelInput struct {
	chat string
	read bool
	// text is the message of a send.
	text string
	// offset is the number of messages before the read's position, and
	// complete whether its answer holds every message from there (not cut at
	// a page).
	offset   int
	complete bool
}

// modelOutput is what a read returned: the texts of its messages in order.
type modelOutput struct {
	texts []string
}

// transcript is the model's state: the message texts of the transcript as an
// immutable list from the newest message back, so a step shares its
// predecessor's state instead of copying it. The empty transcript is nil.
type transcript struct {
	prev *transcript
	text string
	n    int
	hash uint64
}

func (t *transcript) len() int {
	if t == nil {
		return 0
	}
	return t.n
}

func (t *transcript) sum() uint64 {
	if t == nil {
		return 14695981039346656037 // FNV-1a offset basis
	}
	return t.hash
}

// push returns t with text appended.
func (t *transcript) push(text string) *transcript {
	h := t.sum()
	for i := 0; i < len(text); i++ {
		h = (h ^ uint64(text[i])) * 1099511628211 // FNV-1a prime
	}
	h = (h ^ 0xff) * 1099511628211 // separates "ab"+"c" from "a"+"bc"
	return &transcript{prev: t, text: text, n: t.len() + 1, hash: h}
}

func (t *transcript) equal(u *transcript) bool {
	if t.len() != u.len() || t.sum() != u.sum() {
		return false
	}
	for ; t != u; t, u = t.prev, u.prev {
		if t.text != u.text {
			return false
		}
	}
	return true
}

// shows tells whether texts are what a read from message offset could return
// in state t: the messages from offset on (a prefix of them when the answer
// may have been cut at a page).
func (t *transcript) shows(offset int, texts []string, complete bool) bool {
	avail := t.len() - offset
	switch {
	case avail <= 0:
		return len(texts) == 0
	case len(texts) > avail, complete && len(texts) != avail:
		return false
	}
	cur := t
	for range avail - len(texts) {
		cur = cur.prev
	}
	for i := len(texts) - 1; i >= 0; i-- {
		if cur.text != texts[i] {
			return false
		}
		cur = cur.prev
	}
	return true
}

// newest returns up to n texts ending with the newest, oldest first.
func (t *transcript) newest(n int) []string {
	var out []string
	for cur := t; cur != nil && len(out) < n; cur = cur.prev {
		out = append(out, cur.text)
	}
	slices.Reverse(out)
	return out
}

// transcriptModel is the porcupine model of a chat transcript, partitioned
// by chat.
func transcriptModel() porcupine.Model {
	return porcupine.Model{
		Partition: partitionByChat,
		Init:      func() any { return (*transcript)(nil) },
		Step: func(state, input, output any) (bool, any) {
			t, in := state.(*transcript), input.(modelInput)
			if !in.read {
				return true, t.push(in.text)
			}
			return t.shows(in.offset, output.(modelOutput).texts, in.complete), t
		},
		Equal:             func(a, b any) bool { return a.(*transcript).equal(b.(*transcript)) },
		Hash:              func(s any) uint64 { return s.(*transcript).sum() },
		DescribeOperation: describeModelOp,
		DescribeState: func(s any) string {
			t := s.(*transcript)
			return fmt.Sprintf("%d messages, newest %q", t.len(), t.newest(3))
		},
	}
}

func describeModelOp(input, output any) string {
	in := input.(modelInput)
	if !in.read {
		return fmt.Sprintf("send(%q)", in.text)
	}
	return fmt.Sprintf("read(from message %d) -> %q", in.offset, output.(modelOutput).texts)
}

// partitionByChat splits a history of several chats into one per chat; each
// chat is linearizable on its own or not at all.
func partitionByChat(ops []porcupine.Operation) [][]porcupine.Operation {
	var chats []string
	byChat := map[string][]porcupine.Operation{}
	for _, op := range ops {
		c := op.Input.(modelInput).chat
		if _, ok := byChat[c]; !ok {
			chats = append(chats, c)
		}
		byChat[c] = append(byChat[c], op)
	}
	out := make([][]porcupine.Operation, 0, len(chats))
	for _, c := range chats {
		out = append(out, byChat[c])
	}
	return out
}

// checkLinearizable checks the chat against the transcript model within the
// configured timeout.
func (a *audit) checkLinearizable() {
	ops := a.modelOps()
	model := transcriptModel()
	switch porcupine.CheckOperationsTimeout(model, ops, a.cfg.Timeout) {
	case porcupine.Illegal:
		a.report(NonLinearizable, "no order of its %d sends and reads explains what the participants saw%s", len(ops), a.visualize(model, ops))
	case porcupine.Unknown:
		a.sum.Unknown++
		a.sum.UnknownChats = append(a.sum.UnknownChats, a.chat.ID)
	}
}

// visualize writes porcupine's view of a non-linearizable chat when asked to
// and returns a note saying where.
func (a *audit) visualize(model porcupine.Model, ops []porcupine.Operation) string {
	if a.cfg.VisualizeDir == "" {
		return ""
	}
	_, info := porcupine.CheckOperationsVerbose(model, ops, a.cfg.Timeout)
	path := filepath.Join(a.cfg.VisualizeDir, fileName(a.chat.ID)+".html")
	if err := os.MkdirAll(a.cfg.VisualizeDir, 0o755); err != nil {
		return fmt.Sprintf(" (cannot write a visualization: %v)", err)
	}
	if err := porcupine.VisualizePath(model, info, path); err != nil {
		return fmt.Sprintf(" (cannot write a visualization: %v)", err)
	}
	return " (see " + path + ")"
}

// fileName makes a chat id safe as a file name.
func fileName(id string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, id)
}

// modelOps turns the chat's sends, acknowledged refreshes and final
// transcript into porcupine operations.
func (a *audit) modelOps() []porcupine.Operation {
	clients := a.clientIDs()
	ops := a.sendOps(clients)
	last := int64(0)
	for i := range a.chat.Ops {
		op := &a.chat.Ops[i]
		last = max(last, op.Return)
		if op.Kind == Refresh && op.Outcome == Acked {
			_, complete := a.extent(op)
			ops = append(ops, a.readOp(clients[op.Participant], op.Position, op.Events, complete, op.Call, op.Return))
		}
	}
	if f := a.chat.Final; f != nil {
		when := f.At
		if when == 0 {
			when = last + 1
		}
		ops = append(ops, a.readOp(len(clients), 1, f.Events, true, when, when))
	}
	return ops
}

// sendOps returns one operation per message text: retries of a message are
// the same append (the node answers a retried request id from what it
// stored), so the append happened once between the first call and the first
// acknowledgement, or, never acknowledged, at any time after the first call
// or not at all. Sends never acknowledged whose text nobody saw constrain
// nothing and are left out.
func (a *audit) sendOps(clients map[string]int) []porcupine.Operation {
	type send struct {
		call, ret int64
		client    int
	}
	sends := map[string]*send{}
	var texts []string
	for i := range a.chat.Ops {
		op := &a.chat.Ops[i]
		if op.Kind != Send {
			continue
		}
		s := sends[op.Text]
		if s == nil {
			s = &send{call: op.Call, ret: never, client: clients[op.Participant]}
			sends[op.Text] = s
			texts = append(texts, op.Text)
		}
		s.call = min(s.call, op.Call)
		if op.Outcome == Acked {
			s.ret = min(s.ret, op.Return)
		}
	}
	var ops []porcupine.Operation
	for _, t := range texts {
		s := sends[t]
		if _, seen := a.textAt[t]; s.ret == never && !seen {
			continue
		}
		ops = append(ops, porcupine.Operation{ClientId: s.client, Input: modelInput{chat: a.chat.ID, text: t}, Call: s.call, Return: s.ret})
	}
	return ops
}

// readOp is a read from position pos that returned evs. Its position becomes
// a message offset: the number of messages the consensus of all answers
// places before pos.
func (a *audit) readOp(client, pos int, evs []Event, complete bool, call, ret int64) porcupine.Operation {
	var texts []string
	for _, e := range evs {
		if e.Type == TypeMessage && e.Index > 0 {
			texts = append(texts, e.Text)
		}
	}
	in := modelInput{chat: a.chat.ID, read: true, offset: a.messagesBefore(pos), complete: complete}
	return porcupine.Operation{ClientId: client, Input: in, Call: call, Output: modelOutput{texts: texts}, Return: ret}
}

// messagesBefore counts the messages at indexes below pos.
func (a *audit) messagesBefore(pos int) int {
	return sort.SearchInts(a.messageIndexes, pos)
}

// clientIDs numbers the chat's participants for porcupine's visualization;
// the final read gets the next number.
func (a *audit) clientIDs() map[string]int {
	var names []string
	for _, op := range a.chat.Ops {
		names = append(names, op.Participant)
	}
	sort.Strings(names)
	names = slices.Compact(names)
	ids := make(map[string]int, len(names))
	for i, n := range names {
		ids[n] = i
	}
	return ids
}
