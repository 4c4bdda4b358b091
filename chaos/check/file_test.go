package check

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	h := history(cleanChat("a"), Chat{ID: "no-final", Ops: []Op{sendOp("client", "m", 1, 2, Ambiguous)}})
	h.Seed = -42
	h.Faults = []Fault{{Kind: "pause", Target: "node2", Start: 3, End: 9}, {Kind: "kill", Target: "proxy1", Start: 10}}
	path := filepath.Join(t.TempDir(), "history.json")
	if err := h.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, h) {
		t.Fatalf("loaded history differs from the saved one:\n got %+v\nwant %+v", got, h)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"kind": "send"`, `"outcome": "ambiguous"`, `"outcome": "retry"`, `"kind": "refresh"`} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("saved history lacks %s", want)
		}
	}
	leftovers, _ := filepath.Glob(path + ".*")
	if len(leftovers) != 0 {
		t.Errorf("Save left temporary files: %v", leftovers)
	}
}

func TestReplayChecksSavedHistory(t *testing.T) {
	bad := Chat{ID: "x", Ops: []Op{sendOp("client", "m1", 10, 20, Acked)}, Final: final()}
	path := filepath.Join(t.TempDir(), "history.json")
	if err := history(bad).Save(path); err != nil {
		t.Fatal(err)
	}
	s, err := Replay(path, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if s.Seed != 7 || s.Counts[Lost] != 1 {
		t.Errorf("replay: seed %d, lost %d; want seed 7, lost 1", s.Seed, s.Counts[Lost])
	}
}

func TestReadRejectsBadFiles(t *testing.T) {
	tests := []struct {
		name, json, want string
	}{
		{"not json", `{"seed": 1,`, "cannot decode"},
		{"unknown field", `{"seed": 1, "chats": [], "extra": 1}`, "unknown field"},
		{"unknown kind", `{"chats": [{"id": "x", "ops": [{"participant": "c", "kind": "shout", "outcome": "ack"}]}]}`, "shout"},
		{"unknown outcome", `{"chats": [{"id": "x", "ops": [{"participant": "c", "kind": "other", "outcome": "maybe"}]}]}`, "maybe"},
		{"invalid op", `{"chats": [{"id": "x", "ops": [{"participant": "c", "kind": "send", "outcome": "ack"}]}]}`, "without text"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(strings.NewReader(tc.json))
			if !errors.Is(err, ErrInvalidHistory) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Read() error %v, want ErrInvalidHistory saying %q", err, tc.want)
			}
		})
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("Load of a missing file succeeded")
	}
}
