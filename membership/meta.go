package membership

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"
)

// Limits of the metadata a member gossips.
const (
	// MaxAPIAddrLen is the longest APIAddr a Meta may carry, in bytes.
	MaxAPIAddrLen = 255
	// MaxSessions is the largest session count a Meta may carry.
	MaxSessions = 1<<31 - 1
	// metaVersion is the encoding version this package writes.
	metaVersion = 1
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
	}
	return nil
}

// AppendBinary appends the encoding of m to b.
//
// Layout (version 1): version, role, mode and flags bytes, then the
// incarnation, the session count and the APIAddr length as uvarints, then
// the APIAddr bytes. At most 4+10+5+2+255 = 276 bytes, under memberlist's
// 512-byte limit. Later versions may only append fields.
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
	return append(b, m.APIAddr...), nil
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
	if b[0] == metaVersion && len(rest) > 0 {
		return Meta{}, fmt.Errorf("%w: %d trailing bytes", ErrBadMeta, len(rest))
	}
	return m, nil
}

// decodeV1 reads the version 1 fields and returns what follows them.
func decodeV1(b []byte) (Meta, []byte, error) {
	m := Meta{Role: Role(b[1]), Mode: Mode(b[2]), Leaving: b[3]&flagLeaving != 0}
	if b[0] == metaVersion && b[3]&^flagLeaving != 0 {
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
