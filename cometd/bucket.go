package cometd

import "time"

// bucket is a token bucket: it holds up to burst tokens, refilled at rate a
// second; each publish takes one. The zero bucket is full.
type bucket struct {
	// used is how many tokens are missing from a full bucket at last.
	used float64
	// last is when used was last brought up to date.
	last time.Time
}

// take takes a token at now and reports whether there was one.
func (b *bucket) take(now time.Time, rate float64, burst int) bool {
	if !b.last.IsZero() {
		b.used = max(0, b.used-now.Sub(b.last).Seconds()*rate)
	}
	b.last = now
	if b.used+1 > float64(burst) {
		return false
	}
	b.used++
	return true
}
