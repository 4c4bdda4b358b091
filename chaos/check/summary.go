package check

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Violation is a kind of broken guarantee.
type Violation int

// Kinds of violation.
const (
	// Lost: an acknowledged message missing from the final transcript or from
	// a later refresh that covers its index.
	Lost Violation = iota + 1
	// Duplicated: a message text twice in one transcript or answer, or at two
	// indexes across answers.
	Duplicated
	// Reordered: acknowledged messages of one sender out of acknowledgement
	// order in the transcript.
	Reordered
	// Divergent: different events at one index, indexes not strictly
	// increasing in an answer, or a final transcript not dense from 1.
	Divergent
	// NonLinearizable: no order of the chat's operations explains what every
	// participant saw.
	NonLinearizable
)

var violationNames = map[Violation]string{
	Lost: "lost", Duplicated: "duplicated", Reordered: "reordered",
	Divergent: "divergent", NonLinearizable: "non-linearizable",
}

// String returns the violation's name.
func (v Violation) String() string { return enumString(violationNames, v) }

// MarshalText encodes the violation by name.
func (v Violation) MarshalText() ([]byte, error) { return enumMarshal(violationNames, v) }

// UnmarshalText decodes a violation's name.
func (v *Violation) UnmarshalText(b []byte) error { return enumUnmarshal(violationNames, v, b) }

// Finding is one example of a violation.
type Finding struct {
	// Violation is the kind of violation.
	Violation Violation `json:"violation"`
	// Chat is the chat it was found in.
	Chat string `json:"chat"`
	// Detail says what was seen, by whom and when.
	Detail string `json:"detail"`
}

// String returns the finding on one line.
func (f Finding) String() string {
	return fmt.Sprintf("%s: chat %s: %s", f.Violation, f.Chat, f.Detail)
}

// Summary is the outcome of a check: what the run did and every violation
// counted, with the first few examples of each kind.
type Summary struct {
	// Seed is the run's seed.
	Seed int64 `json:"seed"`
	// Chats is the number of chats.
	Chats int `json:"chats"`
	// Operations is the number of calls made.
	Operations int `json:"operations"`
	// Acknowledged is the number of distinct messages acknowledged.
	Acknowledged int `json:"acknowledged"`
	// Faults counts the faults injected by kind.
	Faults map[string]int `json:"faults"`
	// Retries counts answers that asked to retry (statusCode 1, 409, 503).
	Retries int `json:"retries"`
	// Ambiguous counts calls without an answer (timeouts, connection errors).
	Ambiguous int `json:"ambiguous"`
	// Unretryable counts error answers a client could not retry.
	Unretryable int `json:"unretryable"`
	// UnretryableKinds counts them by action, HTTP status, statusCode and code.
	UnretryableKinds map[string]int `json:"unretryableKinds"`
	// Counts counts the violations by kind (zero kinds absent).
	Counts map[Violation]int `json:"counts"`
	// Unknown counts chats whose linearizability check timed out; they are
	// not violations.
	Unknown int `json:"unknown"`
	// UnknownChats are the first few of them.
	UnknownChats []string `json:"unknownChats,omitempty"`
	// Examples are the first few findings of each violation kind.
	Examples []Finding `json:"examples,omitempty"`
}

func newSummary() *Summary {
	return &Summary{Faults: map[string]int{}, UnretryableKinds: map[string]int{}, Counts: map[Violation]int{}}
}

// Violations returns the total number of violations.
func (s *Summary) Violations() int {
	n := 0
	for _, c := range s.Counts {
		n += c
	}
	return n
}

// OK tells whether the history kept every guarantee.
func (s *Summary) OK() bool { return s.Violations() == 0 }

// Err returns nil when the history kept every guarantee, and otherwise an
// error wrapping ErrViolation that counts the violations.
func (s *Summary) Err() error {
	if s.OK() {
		return nil
	}
	var parts []string
	for _, v := range allViolations() {
		if n := s.Counts[v]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", v, n))
		}
	}
	return fmt.Errorf("%w: %s", ErrViolation, strings.Join(parts, ", "))
}

// String returns the summary as one readable block.
func (s *Summary) String() string {
	var b strings.Builder
	line := func(name string, format string, a ...any) {
		fmt.Fprintf(&b, "  %-22s %s\n", name, fmt.Sprintf(format, a...))
	}
	fmt.Fprintf(&b, "chaos history (seed %d)\n", s.Seed)
	line("chats", "%d", s.Chats)
	line("operations", "%d", s.Operations)
	line("messages acknowledged", "%d", s.Acknowledged)
	line("faults injected", "%s", countsString(s.Faults))
	line("retries", "%d", s.Retries)
	line("ambiguous calls", "%d", s.Ambiguous)
	line("unretryable errors", "%d%s", s.Unretryable, parenthesised(countsString(s.UnretryableKinds)))
	for _, v := range allViolations() {
		line(v.String(), "%d", s.Counts[v])
	}
	line("unknown (timed out)", "%d%s", s.Unknown, parenthesised(strings.Join(s.UnknownChats, " ")))
	line("result", "%s", s.result())
	examples := slices.Clone(s.Examples)
	slices.SortStableFunc(examples, func(x, y Finding) int { return cmp.Compare(x.Violation, y.Violation) })
	for _, f := range examples {
		fmt.Fprintf(&b, "  example %s\n", f)
	}
	return b.String()
}

func (s *Summary) result() string {
	if err := s.Err(); err != nil {
		return "FAIL"
	}
	return "OK"
}

// add counts finding f and keeps it as an example while fewer than limit of
// its kind are kept.
func (s *Summary) add(f Finding, limit int) {
	s.Counts[f.Violation]++
	s.keep(f, limit)
}

// keep keeps f as an example while fewer than limit of its kind are kept.
func (s *Summary) keep(f Finding, limit int) {
	kept := 0
	for _, e := range s.Examples {
		if e.Violation == f.Violation {
			kept++
		}
	}
	if kept < limit {
		s.Examples = append(s.Examples, f)
	}
}

// merge adds the counters of o into s, keeping at most limit examples of each
// kind and at most limit unknown chats.
func (s *Summary) merge(o *Summary, limit int) {
	s.Chats += o.Chats
	s.Operations += o.Operations
	s.Acknowledged += o.Acknowledged
	s.Retries += o.Retries
	s.Ambiguous += o.Ambiguous
	s.Unretryable += o.Unretryable
	s.Unknown += o.Unknown
	addCounts(s.Faults, o.Faults)
	addCounts(s.UnretryableKinds, o.UnretryableKinds)
	for v, n := range o.Counts {
		s.Counts[v] += n
	}
	for _, f := range o.Examples {
		s.keep(f, limit)
	}
	for _, c := range o.UnknownChats {
		if len(s.UnknownChats) < limit {
			s.UnknownChats = append(s.UnknownChats, c)
		}
	}
}

func addCounts(dst, src map[string]int) {
	for k, n := range src {
		dst[k] += n
	}
}

func allViolations() []Violation {
	return []Violation{Lost, Duplicated, Reordered, Divergent, NonLinearizable}
}

// countsString renders counts as "a=1 b=2" in key order, "none" when empty.
func countsString(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

func parenthesised(s string) string {
	if s == "" || s == "none" {
		return ""
	}
	return " (" + s + ")"
}
