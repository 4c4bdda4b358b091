package check

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"
)

// audit checks one chat. It is used by one goroutine.
type audit struct {
	chat *Chat
	cfg  Config
	sum  *Summary

	// answers are the final transcript (first) and every answer that carried
	// events, by return time.
	answers []answer
	// byIndex is the event each index held as first seen, final transcript
	// first; the divergence check vouches that every reader agreed.
	byIndex map[int]seen
	// textAt is the index of each message text as first seen, and
	// messageIndexes the indexes that hold messages in byIndex, ascending.
	textAt         map[string]int
	messageIndexes []int
	// acks is the earliest acknowledged send of each text, and ackOrder the
	// texts by acknowledgement time.
	acks     map[string]*Op
	ackOrder []string
	// duplicated and lost are the texts already reported as such.
	duplicated map[string]bool
	lost       map[string]bool
}

// answer is one list of events a participant (or the final read) saw.
type answer struct {
	op     *Op // nil for the final transcript
	who    string
	events []Event
}

// seen is an event at an index and the answer it was first seen in.
type seen struct {
	ev  Event
	who string
}

// auditChat runs every check on c and returns the chat's summary.
func auditChat(c *Chat, cfg Config) *Summary {
	a := &audit{
		chat: c, cfg: cfg, sum: newSummary(),
		byIndex: map[int]seen{}, textAt: map[string]int{}, acks: map[string]*Op{},
		duplicated: map[string]bool{}, lost: map[string]bool{},
	}
	a.sum.Chats = 1
	a.countOutcomes()
	a.collectAnswers()
	a.checkIncreasing()
	a.checkIndexes()
	a.checkDense()
	a.checkRepeats()
	a.checkLost()
	a.checkOrder()
	a.checkLinearizable()
	return a.sum
}

func (a *audit) report(v Violation, format string, args ...any) {
	a.sum.add(Finding{Violation: v, Chat: a.chat.ID, Detail: fmt.Sprintf(format, args...)}, a.cfg.Examples)
}

// countOutcomes counts calls by outcome and finds the acknowledged sends.
func (a *audit) countOutcomes() {
	for i := range a.chat.Ops {
		op := &a.chat.Ops[i]
		a.sum.Operations++
		switch op.Outcome {
		case Retry:
			a.sum.Retries++
		case Ambiguous:
			a.sum.Ambiguous++
		case Failed:
			a.sum.Unretryable++
			a.sum.UnretryableKinds[ErrorKind(op)]++
		case Acked:
			if first := a.acks[op.Text]; op.Kind == Send && (first == nil || op.Return < first.Return) {
				a.acks[op.Text] = op
			}
		}
	}
	for t := range a.acks {
		a.ackOrder = append(a.ackOrder, t)
	}
	slices.SortFunc(a.ackOrder, func(x, y string) int {
		return cmp.Or(cmp.Compare(a.acks[x].Return, a.acks[y].Return), cmp.Compare(x, y))
	})
	a.sum.Acknowledged = len(a.acks)
}

// ErrorKind names the kind of an error a client could not retry, as
// Summary.UnretryableKinds counts it: action:httpSTATUS/statusSTATUSCODE,
// then /codeCODE when the answer carried an error code.
func ErrorKind(op *Op) string {
	k := fmt.Sprintf("%s:http%d/status%d", actionName(op), op.Status, op.StatusCode)
	if op.Code != 0 {
		k += fmt.Sprintf("/code%d", op.Code)
	}
	return k
}

func actionName(op *Op) string {
	if op.Action != "" {
		return op.Action
	}
	return op.Kind.String()
}

// collectAnswers lists the final transcript and then every answer with
// events by return time.
func (a *audit) collectAnswers() {
	if f := a.chat.Final; f != nil {
		a.answers = append(a.answers, answer{who: "the final transcript", events: f.Events})
	}
	var ops []*Op
	for i := range a.chat.Ops {
		if op := &a.chat.Ops[i]; len(op.Events) > 0 {
			ops = append(ops, op)
		}
	}
	sort.SliceStable(ops, func(i, j int) bool { return ops[i].Return < ops[j].Return })
	for _, op := range ops {
		a.answers = append(a.answers, answer{op: op, who: describe(op), events: op.Events})
	}
}

// describe names a call for reports: what, by whom, when.
func describe(op *Op) string {
	s := fmt.Sprintf("%s by %s", actionName(op), op.Participant)
	if op.Kind == Refresh {
		s += fmt.Sprintf(" from %d", op.Position)
	}
	return s + fmt.Sprintf(" [%v..%v]", at(op.Call), at(op.Return))
}

// at renders a time from the origin.
func at(ns int64) time.Duration { return time.Duration(ns).Round(time.Microsecond) }

// checkIncreasing reports answers whose transcript indexes do not strictly
// increase, or start below the refresh's position (transient events, index
// 0, aside).
func (a *audit) checkIncreasing() {
	for _, an := range a.answers {
		if d := disorder(an); d != "" {
			a.report(Divergent, "%s in %s", d, an.who)
		}
	}
}

// disorder says what is wrong with the order of an's indexes, "" if nothing.
func disorder(an answer) string {
	prev, floor := 0, 1
	if an.op != nil && an.op.Kind == Refresh {
		floor = an.op.Position
	}
	for _, e := range an.events {
		switch {
		case e.Index == 0:
			continue
		case e.Index < floor:
			return fmt.Sprintf("index %d below the position %d", e.Index, floor)
		case e.Index <= prev:
			return fmt.Sprintf("indexes not strictly increasing: %d after %d", e.Index, prev)
		}
		prev = e.Index
	}
	return ""
}

// leftOut are the event types a stored final transcript may leave out
// (transcript-save-notices), keeping the indexes of the rest: typing
// notices, and notices.
var leftOut = map[string]bool{"TypingStarted": true, "TypingStopped": true, "Notice": true, "CustomNotice": true, "PushUrl": true, "IdleAlert": true}

// checkDense reports a final transcript whose indexes are not 1, 2, 3, ...:
// the chat's log is dense, and a stored final transcript may leave out
// typing notices and notices only. An index it leaves out is explained by an
// event of those types a reader saw there, or by a typing notice no reader
// saw: each typing call that may have taken effect (acknowledged, or without
// an answer) explains one index nobody saw, typically just before the chat's
// end, when its participant leaves without reading again. It needs the
// consensus of checkIndexes.
func (a *audit) checkDense() {
	if a.chat.Final == nil {
		return
	}
	unseen := a.unseenTyping()
	next := 1
	for _, e := range a.chat.Final.Events {
		for ; next < e.Index; next++ {
			s, ok := a.byIndex[next]
			switch {
			case ok && leftOut[s.ev.Type]: // a reader saw what it may leave out
			case !ok && unseen > 0: // a typing notice nobody read
				unseen--
			default:
				a.report(Divergent, "final transcript not dense from 1: index %d missing before %d, and no reader saw an event there it may leave out", next, e.Index)
				return
			}
		}
		next = max(next, e.Index+1)
	}
}

// typingActions are the calls that add a typing notice to the chat's log.
var typingActions = map[string]bool{"startTyping": true, "stopTyping": true}

// unseenTyping returns how many typing notices the chat's log may hold that
// no reader saw: the typing calls that may have taken effect, less the
// typing notices readers saw.
func (a *audit) unseenTyping() int {
	calls := 0
	for _, op := range a.chat.Ops {
		if typingActions[op.Action] && (op.Outcome == Acked || op.Outcome == Ambiguous) {
			calls++
		}
	}
	for _, s := range a.byIndex {
		if s.ev.Type == "TypingStarted" || s.ev.Type == "TypingStopped" {
			calls--
		}
	}
	return max(calls, 0)
}

// checkIndexes builds the consensus of which event each index holds and
// reports readers that disagree, and message texts seen at two indexes.
func (a *audit) checkIndexes() {
	conflicts := map[int]bool{}
	for _, an := range a.answers {
		for _, e := range an.events {
			if e.Index == 0 {
				continue
			}
			a.noteIndex(e, an.who, conflicts)
			if e.Type == TypeMessage {
				a.noteText(e, an.who)
			}
		}
	}
	for idx, s := range a.byIndex {
		if s.ev.Type == TypeMessage {
			a.messageIndexes = append(a.messageIndexes, idx)
		}
	}
	sort.Ints(a.messageIndexes)
}

func (a *audit) noteIndex(e Event, who string, conflicts map[int]bool) {
	first, ok := a.byIndex[e.Index]
	switch {
	case !ok:
		a.byIndex[e.Index] = seen{ev: e, who: who}
	case first.ev != e && !conflicts[e.Index]:
		conflicts[e.Index] = true
		a.report(Divergent, "index %d held %s in %s but %s in %s", e.Index, eventString(first.ev), first.who, eventString(e), who)
	}
}

func (a *audit) noteText(e Event, who string) {
	idx, ok := a.textAt[e.Text]
	switch {
	case !ok:
		a.textAt[e.Text] = e.Index
	case idx != e.Index:
		a.duplicate(e.Text, "message %q at index %d and at index %d (%s)", e.Text, idx, e.Index, who)
	}
}

func (a *audit) duplicate(text, format string, args ...any) {
	if !a.duplicated[text] {
		a.duplicated[text] = true
		a.report(Duplicated, format, args...)
	}
}

func eventString(e Event) string {
	return fmt.Sprintf("%s from %q text %q", e.Type, e.From, e.Text)
}

// checkRepeats reports a message text appearing twice in one answer or in
// the final transcript.
func (a *audit) checkRepeats() {
	for _, an := range a.answers {
		count := map[string]int{}
		for _, e := range an.events {
			if e.Type != TypeMessage {
				continue
			}
			if count[e.Text]++; count[e.Text] == 2 {
				a.duplicate(e.Text, "message %q twice in %s", e.Text, an.who)
			}
		}
	}
}

// checkLost reports acknowledged messages missing from the final transcript
// or from a refresh that started after the acknowledgement and covers the
// message's index.
func (a *audit) checkLost() {
	if f := a.chat.Final; f != nil {
		in := messageTexts(f.Events)
		for _, t := range a.ackOrder {
			if !in[t] {
				a.lose(t, "message %q acknowledged to %s at %v is not in the final transcript", t, a.acks[t].Participant, at(a.acks[t].Return))
			}
		}
	}
	for _, an := range a.answers {
		if an.op != nil && an.op.Kind == Refresh && an.op.Outcome == Acked {
			a.checkLostIn(an)
		}
	}
}

func (a *audit) checkLostIn(an answer) {
	in := messageTexts(an.events)
	last, complete := a.extent(an.op)
	for _, t := range a.ackOrder {
		ack := a.acks[t]
		idx, known := a.textAt[t]
		covered := known && idx >= an.op.Position && (complete || idx <= last)
		if ack.Return < an.op.Call && covered && !in[t] {
			a.lose(t, "message %q (index %d) acknowledged to %s at %v is missing from %s", t, idx, ack.Participant, at(ack.Return), an.who)
		}
	}
}

// extent returns the last transcript index in op's answer and whether the
// answer holds everything from its position (it was not cut at a page).
func (a *audit) extent(op *Op) (last int, complete bool) {
	n := 0
	for _, e := range op.Events {
		if e.Index > 0 {
			n++
			last = e.Index
		}
	}
	return last, a.cfg.PageSize == 0 || n < a.cfg.PageSize
}

func (a *audit) lose(text, format string, args ...any) {
	if !a.lost[text] {
		a.lost[text] = true
		a.report(Lost, format, args...)
	}
}

func messageTexts(evs []Event) map[string]bool {
	in := map[string]bool{}
	for _, e := range evs {
		if e.Type == TypeMessage {
			in[e.Text] = true
		}
	}
	return in
}

// checkOrder reports acknowledged messages of one participant that the
// transcript holds in another order than they were acknowledged. A
// participant's sends are sequential, so call order is acknowledgement order.
func (a *audit) checkOrder() {
	byParticipant := map[string][]*Op{}
	for _, t := range a.ackOrder {
		op := a.acks[t]
		byParticipant[op.Participant] = append(byParticipant[op.Participant], op)
	}
	for _, p := range slices.Sorted(maps.Keys(byParticipant)) {
		a.checkOrderOf(byParticipant[p])
	}
}

func (a *audit) checkOrderOf(ops []*Op) {
	sort.SliceStable(ops, func(i, j int) bool { return ops[i].Call < ops[j].Call })
	var top *Op // the message with the highest index so far
	for _, op := range ops {
		idx, ok := a.textAt[op.Text]
		if !ok {
			continue
		}
		if top != nil && idx < a.textAt[top.Text] {
			a.report(Reordered, "%s's message %q (acknowledged at %v) is at index %d, before %q (acknowledged earlier, at %v) at index %d",
				op.Participant, op.Text, at(op.Return), idx, top.Text, at(top.Return), a.textAt[top.Text])
			continue
		}
		top = op
	}
}
