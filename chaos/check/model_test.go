package check

import (
	"testing"

	"github.com/anishathalye/porcupine"
)

func TestTranscriptShows(t *testing.T) {
	var s *transcript
	s = s.push("a").push("b").push("c")
	tests := []struct {
		offset   int
		texts    []string
		complete bool
		want     bool
	}{
		{0, []string{"a", "b", "c"}, true, true},
		{1, []string{"b", "c"}, true, true},
		{3, nil, true, true},
		{5, nil, true, true},
		{5, []string{"c"}, true, false},
		{1, []string{"b"}, true, false},
		{1, []string{"b"}, false, true},
		{0, []string{"a", "c"}, false, false},
		{0, []string{"a", "b", "c", "d"}, false, false},
		{2, []string{"b"}, true, false},
	}
	for _, tc := range tests {
		if got := s.shows(tc.offset, tc.texts, tc.complete); got != tc.want {
			t.Errorf("shows(%d, %q, %v) = %v, want %v", tc.offset, tc.texts, tc.complete, got, tc.want)
		}
	}
}

func TestTranscriptEqualAndHash(t *testing.T) {
	var empty *transcript
	ab := empty.push("a").push("b")
	tests := []struct {
		x, y *transcript
		want bool
	}{
		{ab, empty.push("a").push("b"), true},
		{ab, empty.push("ab"), false},
		{ab, empty.push("b").push("a"), false},
		{empty, empty, true},
		{empty, ab, false},
	}
	for _, tc := range tests {
		if got := tc.x.equal(tc.y); got != tc.want {
			t.Errorf("%q equal %q = %v, want %v", tc.x.newest(9), tc.y.newest(9), got, tc.want)
		}
		if tc.want && tc.x.sum() != tc.y.sum() {
			t.Errorf("equal states %q have different hashes", tc.x.newest(9))
		}
	}
}

// TestModelPartitionsByChat checks the model on a history of several chats
// at once, as porcupine partitions it.
func TestModelPartitionsByChat(t *testing.T) {
	good := cleanChat("g")
	bad := Chat{ID: "b", Ops: []Op{sendOp("client", "m1", 10, 20, Acked), refreshOp("agent", 1, 30, 40)}}
	tests := []struct {
		name  string
		chats []Chat
		want  porcupine.CheckResult
	}{
		{"all legal", []Chat{good, cleanChat("h")}, porcupine.Ok},
		{"one chat illegal", []Chat{good, bad}, porcupine.Illegal},
	}
	for _, tc := range tests {
		var ops []porcupine.Operation
		for i := range tc.chats {
			a := &audit{chat: &tc.chats[i], cfg: DefaultConfig(), sum: newSummary(), byIndex: map[int]seen{}, textAt: map[string]int{},
				acks: map[string]*Op{}, duplicated: map[string]bool{}, lost: map[string]bool{}}
			a.collectAnswers()
			a.checkIndexes()
			ops = append(ops, a.modelOps()...)
		}
		if got := porcupine.CheckOperations(transcriptModel(), ops); (got && tc.want != porcupine.Ok) || (!got && tc.want == porcupine.Ok) {
			t.Errorf("%s: linearizable %v, want %v", tc.name, got, tc.want)
		}
		if parts := partitionByChat(ops); len(parts) != len(tc.chats) {
			t.Errorf("%s: %d partitions, want %d", tc.name, len(parts), len(tc.chats))
		}
	}
}

func TestVisualizationWritten(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.VisualizeDir = dir
	bad := Chat{ID: "chat/1", Ops: []Op{sendOp("client", "m1", 10, 20, Acked), refreshOp("agent", 1, 30, 40)}}
	s, err := Check(history(bad), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if s.Counts[NonLinearizable] != 1 {
		t.Fatalf("non-linearizable %d, want 1", s.Counts[NonLinearizable])
	}
	if !hasExample(s, NonLinearizable) {
		t.Fatal("no example")
	}
	assertFile(t, dir+"/chat_1.html")
}
