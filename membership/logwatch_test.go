package membership

import (
	"fmt"
	"log"
	"log/slog"
	"testing"
)

// The formats below are copied from memberlist v0.7.0 state.go. If an
// upgrade changes them, TestSuspectAndRefute fails too.
const (
	mlSuspectFormat       = "[INFO] memberlist: Suspect %s has failed, no acks received"
	mlRefuteSuspectFormat = "[WARN] memberlist: Refuting a suspect message (from: %s)"
	mlRefuteDeadFormat    = "[WARN] memberlist: Refuting a dead message (from: %s)"
	mlRefuteAliveFormat   = "[WARN] memberlist: Refuting an alive message for '%s' (%v:%d) meta:(%v VS %v), vsn:(%v VS %v)"
)

func TestLogWatch(t *testing.T) {
	var suspects []string
	refutes := 0
	w := &logWatch{
		log:       slog.New(slog.DiscardHandler),
		onSuspect: func(name string) { suspects = append(suspects, name) },
		onRefute:  func() { refutes++ },
	}
	l := log.New(w, "", 0)
	l.Printf(mlSuspectFormat, "node with spaces")
	l.Printf(mlRefuteSuspectFormat, "b")
	l.Printf(mlRefuteDeadFormat, "b")
	l.Printf(mlRefuteAliveFormat, "a", "127.0.0.1", 1, []byte{1}, []byte{2}, []byte{1}, []byte{1})
	l.Printf("[DEBUG] memberlist: Failed UDP ping: %s (timeout reached)", "x")
	l.Printf("[INFO] memberlist: Marking %s as failed, suspect timeout reached (%d peer confirmations)", "x", 0)
	if fmt.Sprint(suspects) != "[node with spaces]" || refutes != 3 {
		t.Errorf("suspects %q, refutes %d; want [node with spaces] and 3", suspects, refutes)
	}
}

func TestParseLogLine(t *testing.T) {
	for _, tc := range []struct {
		line  string
		level slog.Level
		msg   string
	}{
		{"[DEBUG] memberlist: Stream connection from=x\n", slog.LevelDebug, "Stream connection from=x"},
		{"[INFO] memberlist: hello\n", slog.LevelInfo, "hello"},
		{"[WARN] memberlist: careful\n", slog.LevelWarn, "careful"},
		{"[ERR] memberlist.net: broken\n", slog.LevelError, "broken"},
		{"no level\n", slog.LevelInfo, "no level"},
		{"[odd", slog.LevelInfo, "[odd"},
	} {
		level, msg := parseLogLine(tc.line)
		if level != tc.level || msg != tc.msg {
			t.Errorf("parseLogLine(%q) = %v, %q; want %v, %q", tc.line, level, msg, tc.level, tc.msg)
		}
	}
}
