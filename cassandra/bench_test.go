package cassandra

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatha/chatha/chat"
)

// Benchmarks against the Cassandra the tests use:
//
//	go test ./cassandra/ -run '^$' -bench . -benchtime 500x

// benchData is the size of a typical encoded chat message event.
var benchData = make([]byte, 200)

// benchChat creates a chat with n records, written in batches of 100.
func benchChat(b *testing.B, s *Store, n uint64) string {
	b.Helper()
	row := newRow(b)
	if err := s.Create(testCtx(b), row, benchRecords(1, min(n, 100))); err != nil {
		b.Fatal(err)
	}
	for from := uint64(101); from <= n; from += 100 {
		if err := s.Append(testCtx(b), row.ChatID, benchRecords(from, min(n, from+99))); err != nil {
			b.Fatal(err)
		}
	}
	return row.ChatID
}

func benchRecords(from, to uint64) []chat.Record {
	var out []chat.Record
	for i := from; i <= to; i++ {
		out = append(out, chat.Record{Seq: i, RequestID: fmt.Sprintf("req-%016d", i), Data: benchData})
	}
	return out
}

func benchConfig(b *testing.B) Config {
	cfg := testConfig(b)
	cfg.ProbeInterval = time.Hour // keep probes out of the numbers
	return cfg
}

// BenchmarkAppend appends one record per operation with an LWT, one writer, and reports
// the latency percentiles.
func BenchmarkAppend(b *testing.B) {
	s := openStore(b, benchConfig(b))
	id := benchChat(b, s, 1)
	lat := make([]time.Duration, 0, b.N)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		if err := s.Append(ctx, id, benchRecords(uint64(i)+2, uint64(i)+2)); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkLoad1000 restores a chat of 1,000 records (Load at LOCAL_SERIAL).
func BenchmarkLoad1000(b *testing.B) {
	s := openStore(b, benchConfig(b))
	id := benchChat(b, s, 1000)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		_, recs, err := s.Load(ctx, id)
		if err != nil || len(recs) != 1000 {
			b.Fatalf("Load: %d records, %v", len(recs), err)
		}
	}
}

// BenchmarkBytesPerMessage counts the bytes the client sends to Cassandra per appended
// message (CQL frames on the wire: the conditional batch with its 200-byte event), with
// the transcript at 10 and at 1,000 records. Equal figures show that an append does not
// rewrite earlier records.
func BenchmarkBytesPerMessage(b *testing.B) {
	for _, length := range []uint64{10, 1000} {
		b.Run(fmt.Sprintf("len=%d", length), func(b *testing.B) {
			d := &countingDialer{}
			cfg := benchConfig(b)
			cfg.Dialer = d
			s := openStore(b, cfg)
			id := benchChat(b, s, length)
			ctx := context.Background()
			before := d.written.Load()
			b.ResetTimer()
			for i := range b.N {
				seq := length + 1 + uint64(i)
				if err := s.Append(ctx, id, benchRecords(seq, seq)); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(d.written.Load()-before)/float64(b.N), "wire-B/msg")
		})
	}
}

// countingDialer counts the bytes written on the connections it opens.
type countingDialer struct {
	net.Dialer
	written atomic.Int64
}

func (d *countingDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := d.Dialer.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, n: &d.written}, nil
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.n.Add(int64(n))
	return n, err
}
