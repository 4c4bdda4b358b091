package telemetry

import (
	"github.com/VictoriaMetrics/metrics"

	"github.com/chatha/chatha/membership"
)

// RegisterMembers adds chatha_members{role,state} to set: how many members
// of each role the view returned by views holds in each gossip state
// (dead and left count the departed incarnations the view remembers).
func RegisterMembers(set *metrics.Set, views func() *membership.View) {
	for _, role := range []membership.Role{membership.RoleNode, membership.RoleProxy} {
		for _, state := range []membership.State{membership.StateAlive, membership.StateSuspect, membership.StateDead, membership.StateLeft} {
			name := `chatha_members{role="` + role.String() + `",state="` + state.String() + `"}`
			set.NewGauge(name, func() float64 { return float64(countMembers(views(), role, state)) })
		}
	}
}

func countMembers(v *membership.View, role membership.Role, state membership.State) int {
	n := 0
	for _, m := range v.Nodes() {
		if m.Meta.Role == role && m.State == state {
			n++
		}
	}
	return n
}
