package membership

import (
	"encoding/binary"
	"fmt"
	"time"
	"unicode/utf8"
)

// Limits of the metadata a member gossips.
const (
	// MaxAPIAddrLen is the longest APIAddr a Meta may carry, in bytes.
	MaxAPIAddrLen = 255
	// MaxSessions is the largest session count a Meta may carry.
	MaxSessions = 1<<31 - 1
	// MaxHealthScore is the largest health score a Meta may carry
	// (memberlist's Lifeguard stops at its AwarenessMaxMultiplier, 8 here).
	MaxHealthScore = 255
	// MaxRefutations is the largest refutation count a Meta may carry.
	MaxRefutations = 1<<31 - 1
	// MaxProbeRTT is the longest probe round trip a Meta may carry.
	MaxProbeRTT = time.Hour
	// metaVersion is the encoding version this package writes: 2 added Health.
	metaVersion = 2
	// metaHeaderLen is version, role, mode and flags, one byte each.
	metaHeaderLen = 4
	// flagLeaving marks a member that is leaving the cluster on purpose.
	flagLeaving = 1 << 0
)

// Role says what a member is.
type Role uint8

// Roles of members. The zero Role is not valid, so a member whose metadata
// could not be read is never taken for a chat node.
const (
	RoleUnknown Role = iota
	RoleNode
	RoleProxy
	RoleDashboard
)

// String returns the role as the cluster API spells it.
func (r Role) String() string {
	switch r {
	case RoleNode:
		return "node"
	case RoleProxy:
		return "proxy"
	case RoleDashboard:
		return "dashboard"
	}
	return fmt.Sprintf("role(%d)", uint8(r))
}

func (r Role) valid() bool { return r >= RoleNode && r <= RoleDashboard }

// Mode says whether a chat node takes new sessions.
type Mode uint8

// Modes of a chat node. Draining and full nodes get no new sessions but keep
// serving the ones they have.
const (
	ModeActive Mode = iota
	ModeDraining
	ModeFull
)

// String returns the mode as the cluster API spells it.
func (m Mode) String() string {
	switch m {
	case ModeActive:
		return "active"
	case ModeDraining:
		return "draining"
	case ModeFull:
		return "full"
	}
	return fmt.Sprintf("mode(%d)", uint8(m))
}

func (m Mode) valid() bool { return m <= ModeFull }

// Meta is what a member tells the cluster about itself through gossip.
type Meta struct {
	// Role is what the member is.
	Role Role
	// APIAddr is the host:port of the member's HTTP API (empty if it has none).
	APIAddr string
	// Mode says whether a chat node takes new sessions.
	Mode Mode
	// Sessions is the number of sessions a chat node serves now.
	Sessions int
	// Incarnation identifies the member's process: a restarted member has a
	// new one. Chat ids carry chatid.HomeOf(name, Incarnation).
	Incarnation uint64
	// Leaving is set by Leave just before the member leaves the cluster, so
	// the others can tell a graceful leave from a failure.
	Leaving bool
	// Health is what the member reports of its own gossip health (zero from
	// a member that writes version 1).
	Health Health
}

// Health is a member's own account of its gossip health, published in its
// Meta every Config.HealthInterval when it changed.
type Health struct {
	// Score is memberlist's Lifeguard health score of the member: 0 is
	// healthy; it grows while the member misses its own probe deadlines.
	Score int
	// Refutations is how many times the member had to refute that it was
	// suspect or dead since it started: how often others suspected it.
	Refutations int
	// ProbeRTT is the mean round trip of the member's recent probes of the
	// others, to the microsecond.
	ProbeRTT time.Duration
}

// Validate reports whether m can be encoded.
func (m Meta) Validate() error {
	switch {
	case !m.Role.valid():
		return fmt.Errorf("%w: Role %d is not valid", ErrBadMeta, m.Role)
	case !m.Mode.valid():
		return fmt.Errorf("%w: Mode %d is not valid", ErrBadMeta, m.Mode)
	case m.Sessions < 0 || m.Sessions > MaxSessions:
		return fmt.Errorf("%w: Sessions %d is out of range [0, %d]", ErrBadMeta, m.Sessions, MaxSessions)
	case len(m.APIAddr) > MaxAPIAddrLen:
		return fmt.Errorf("%w: APIAddr is %d bytes, the limit is %d", ErrBadMeta, len(m.APIAddr), MaxAPIAddrLen)
	case !utf8.ValidString(m.APIAddr):
		return fmt.Errorf("%w: APIAddr is not valid UTF-8", ErrBadMeta)
	case m.Health.Score < 0 || m.Health.Score > MaxHealthScore:
		return fmt.Errorf("%w: Health.Score %d is out of range [0, %d]", ErrBadMeta, m.Health.Score, MaxHealthScore)
	case m.Health.Refutations < 0 || m.Health.Refutations > MaxRefutations:
		return fmt.Errorf("%w: Health.Refutations %d is out of range [0, %d]", ErrBadMeta, m.Health.Refutations, MaxRefutations)
	case m.Health.ProbeRTT < 0 || m.Health.ProbeRTT > MaxProbeRTT || m.Health.ProbeRTT%time.Microsecond != 0:
		return fmt.Errorf("%w: Health.ProbeRTT %v is not whole microseconds in [0, %v]", ErrBadMeta, m.Health.ProbeRTT, MaxProbeRTT)
	}
	return nil
}

// AppendBinary appends the encoding of m to b.
//
// Layout (version 1): version, role, mode and flags bytes, then the
// incarnation, the session count and the APIAddr length as uvarints, then
// the APIAddr bytes. Version 2 appends the health score, the refutation
// count and the probe round trip in microseconds as uvarints. At most
// 4+10+5+2+255+2+5+6 = 289 bytes, under memberlist's 512-byte limit. Later
// versions may only append fields.
func (m Meta) AppendBinary(b []byte) ([]byte, error) {
	if err := m.Validate(); err != nil {
		return b, err
	}
	var flags byte
	if m.Leaving {
		flags |= flagLeaving
	}
	b = append(b, metaVersion, byte(m.Role), byte(m.Mode), flags)
	b = binary.AppendUvarint(b, m.Incarnation)
	b = binary.AppendUvarint(b, uint64(m.Sessions))
	b = binary.AppendUvarint(b, uint64(len(m.APIAddr)))
	b = append(b, m.APIAddr...)
	b = binary.AppendUvarint(b, uint64(m.Health.Score))
	b = binary.AppendUvarint(b, uint64(m.Health.Refutations))
	return binary.AppendUvarint(b, uint64(m.Health.ProbeRTT/time.Microsecond)), nil
}

// MarshalBinary returns the encoding of m (see AppendBinary).
func (m Meta) MarshalBinary() ([]byte, error) {
	return m.AppendBinary(make([]byte, 0, 32+len(m.APIAddr)))
}

// DecodeMeta decodes metadata gossiped by another member. It accepts any
// version from 1 on and ignores what later versions append; it never panics.
func DecodeMeta(b []byte) (Meta, error) {
	if len(b) < metaHeaderLen {
		return Meta{}, fmt.Errorf("%w: %d bytes, want at least %d", ErrBadMeta, len(b), metaHeaderLen)
	}
	if b[0] == 0 {
		return Meta{}, fmt.Errorf("%w: version 0", ErrBadMeta)
	}
	m, rest, err := decodeV1(b)
	if err != nil {
		return Meta{}, err
	}
	if b[0] >= 2 {
		if m.Health, rest, err = decodeHealth(rest); err != nil {
			return Meta{}, err
		}
	}
	if b[0] <= metaVersion && len(rest) > 0 {
		return Meta{}, fmt.Errorf("%w: %d trailing bytes", ErrBadMeta, len(rest))
	}
	return m, nil
}

// decodeV1 reads the version 1 fields and returns what follows them.
func decodeV1(b []byte) (Meta, []byte, error) {
	m := Meta{Role: Role(b[1]), Mode: Mode(b[2]), Leaving: b[3]&flagLeaving != 0}
	if b[0] <= metaVersion && b[3]&^flagLeaving != 0 {
		return Meta{}, nil, fmt.Errorf("%w: unknown flags %#x", ErrBadMeta, b[3])
	}
	var ints [3]uint64
	rest := b[metaHeaderLen:]
	for i := range ints {
		v, n := binary.Uvarint(rest)
		if n <= 0 {
			return Meta{}, nil, fmt.Errorf("%w: truncated or overlong varint %d", ErrBadMeta, i)
		}
		ints[i], rest = v, rest[n:]
	}
	if ints[1] > MaxSessions || ints[2] > uint64(len(rest)) {
		return Meta{}, nil, fmt.Errorf("%w: session count or address length out of range", ErrBadMeta)
	}
	m.Incarnation, m.Sessions = ints[0], int(ints[1])
	m.APIAddr, rest = string(rest[:ints[2]]), rest[ints[2]:]
	return m, rest, m.Validate()
}

// decodeHealth reads the version 2 fields and returns what follows them.
func decodeHealth(b []byte) (Health, []byte, error) {
	var ints [3]uint64
	for i := range ints {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return Health{}, nil, fmt.Errorf("%w: truncated or overlong health varint %d", ErrBadMeta, i)
		}
		ints[i], b = v, b[n:]
	}
	if ints[0] > MaxHealthScore || ints[1] > MaxRefutations || ints[2] > uint64(MaxProbeRTT/time.Microsecond) {
		return Health{}, nil, fmt.Errorf("%w: health field out of range", ErrBadMeta)
	}
	return Health{Score: int(ints[0]), Refutations: int(ints[1]), ProbeRTT: time.Duration(ints[2]) * time.Microsecond}, b, nil
}
