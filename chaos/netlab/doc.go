// Package netlab owns network labs for partition tests: network namespaces
// joined by a bridge, with test-only addresses, in which a test runs its
// processes and then cuts and heals their links. It needs root and the ip
// command of iproute2, and nothing else.
//
// A lab of members m1..mN is:
//   - a hub namespace holding a bridge, so the bridge never appears on the
//     host;
//   - one namespace per member, with loopback up and a veth pair whose inner
//     end (eth0) has the member's address in the lab's /24 and whose outer
//     end is a port of the bridge;
//   - optionally (Config.HostLink) a veth pair from the host into the bridge,
//     whose host end gets the subnet's .254, so processes on the host (the
//     test itself) reach the members directly. The subnet is picked from
//     10.213.0.0/16 so that it overlaps no route of the host; that link and
//     its connected route are the only change to the host, and Close removes
//     them.
//
// Members have no default route: they reach each other, the host link and
// nothing else. Every name carries a random suffix, so labs of parallel runs
// do not collide.
//
// Faults, all silent drops (senders see timeouts, as in a real partition):
//   - Isolate takes the member's bridge port down: nothing reaches it or
//     leaves it, host included;
//   - Block(from, to) drops every packet from one member at another, with a
//     blackhole policy-routing rule in the receiver's namespace (its local
//     routing rule is moved behind the lab's rules at creation). A one-way
//     block lets datagrams through the other way; TCP needs both directions,
//     so it fails both ways;
//   - Heal and HealAll undo them.
//
// A Lab is safe for concurrent use. It starts no goroutines and no processes
// of its own; processes started with Command belong to the caller, who must
// stop them before Close (Close reports any still running in the lab).
package netlab
