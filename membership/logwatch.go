package membership

import (
	"context"
	"log/slog"
	"strings"
)

// memberlist reports two things this package needs only in its log lines:
// that our own probe of a member failed (memberlist then suspects it), and
// that we refuted a suspicion or a death notice about ourselves (refute()
// has no hook, and neither memberlist.Node nor LocalNode carries the
// incarnation it bumps). The texts below are those of memberlist v0.7.0
// (state.go); logwatch_test.go pins them.
const (
	suspectPrefix = "Suspect "
	suspectSuffix = " has failed, no acks received"
	refutePrefix  = "Refuting a" // "... an alive", "... a suspect", "... a dead message"
)

// logWatch is the io.Writer behind memberlist's *log.Logger. It forwards
// each line to slog at the line's own level and passes on the two events
// above. log.Logger calls Write once per line, from memberlist's goroutines.
type logWatch struct {
	log       *slog.Logger
	onSuspect func(name string)
	onRefute  func()
}

// Write handles one log line; it never fails.
func (w *logWatch) Write(p []byte) (int, error) {
	level, msg := parseLogLine(string(p))
	w.watch(msg)
	w.log.Log(context.Background(), level, msg, "component", "memberlist")
	return len(p), nil
}

func (w *logWatch) watch(msg string) {
	if strings.HasPrefix(msg, refutePrefix) {
		w.onRefute()
		return
	}
	if name, ok := strings.CutPrefix(msg, suspectPrefix); ok {
		if name, ok = strings.CutSuffix(name, suspectSuffix); ok {
			w.onSuspect(name)
		}
	}
}

// parseLogLine splits "[WARN] memberlist: text\n" into a level and "text".
func parseLogLine(line string) (slog.Level, string) {
	line = strings.TrimRight(line, "\r\n")
	level := slog.LevelInfo
	if tag, rest, ok := strings.Cut(line, "] "); ok && strings.HasPrefix(tag, "[") {
		level, line = levelOf(tag[1:]), rest
	}
	for _, p := range []string{"memberlist: ", "memberlist.net: "} {
		line = strings.TrimPrefix(line, p)
	}
	return level, line
}

func levelOf(tag string) slog.Level {
	switch tag {
	case "DEBUG", "TRACE":
		return slog.LevelDebug
	case "WARN":
		return slog.LevelWarn
	case "ERR", "ERROR":
		return slog.LevelError
	}
	return slog.LevelInfo
}
