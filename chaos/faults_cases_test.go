package chaos

import (
	"slices"
	"testing"
)

// TestScheduleRepeatsFromSeed: a seed gives the same schedule every time,
// and a longer run's schedule starts with a shorter run's.
func TestScheduleRepeatsFromSeed(t *testing.T) {
	stores := []string{"cassandra-1", "cassandra-2", "cassandra-3"}
	a := schedule(42, allFaults, 3, stores)
	if b := schedule(42, allFaults, 3, stores); !slices.Equal(a, b) {
		t.Fatalf("seed 42 gave two schedules:\n%v\n%v", a, b)
	}
	if short := schedule(42, allFaults, 1, stores); !slices.Equal(short, a[:len(short)]) {
		t.Fatalf("one round is not the start of three:\n%v\n%v", short, a)
	}
	if other := schedule(43, allFaults, 3, stores); slices.Equal(a, other) {
		t.Fatal("seeds 42 and 43 gave the same schedule")
	}
}

// TestScheduleRounds: every round has each kind once, with targets of the
// right kind and times within their bounds.
func TestScheduleRounds(t *testing.T) {
	for seed := int64(1); seed <= 50; seed++ {
		for _, stores := range [][]string{{"sqlite"}, {"cassandra-1", "cassandra-2", "cassandra-3"}} {
			sched := schedule(seed, allFaults, 4, stores)
			if len(sched) != 4*len(allFaults) {
				t.Fatalf("seed %d: %d faults, want %d", seed, len(sched), 4*len(allFaults))
			}
			for r := range 4 {
				var kinds []string
				for _, f := range sched[r*len(allFaults) : (r+1)*len(allFaults)] {
					kinds = append(kinds, f.Kind)
					checkFault(t, seed, f, stores)
				}
				slices.Sort(kinds)
				want := slices.Sorted(slices.Values(allFaults))
				if !slices.Equal(kinds, want) {
					t.Fatalf("seed %d round %d has kinds %v, want each of %v once", seed, r, kinds, want)
				}
			}
		}
	}
}

func checkFault(t *testing.T, seed int64, f fault, stores []string) {
	t.Helper()
	if f.Hold < minHold || f.Hold > maxHold || f.Calm < minCalm || f.Calm > maxCalm {
		t.Fatalf("seed %d: %v has times out of bounds", seed, f)
	}
	targets, second := nodeNames, false
	switch f.Kind {
	case faultProxyKill:
		targets = proxyNames
	case faultKillTwo:
		second = true
	case faultStore:
		targets, second = stores, len(stores) > 1
	}
	if !slices.Contains(targets, f.Target) || second != (f.Second != "") || second && (!slices.Contains(targets, f.Second) || f.Second == f.Target) {
		t.Fatalf("seed %d: %v hits %q and %q", seed, f, f.Target, f.Second)
	}
}
