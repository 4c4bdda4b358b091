package chatnode_test

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/chatha/chatha/chatnode"
)

// TestRefreshPages: a long transcript comes in pages bounded by PageEvents
// and PageBytes; refreshing from each answer's nextPosition gets every event
// once, in order, and a single event over PageBytes still comes, alone.
func TestRefreshPages(t *testing.T) {
	tests := []struct {
		name                 string
		pageEvents, pageSize int
		texts                []string
		wantPages            []int // events per page
	}{
		{"by count", 4, 1 << 20, repeat("m", 10, 10), []int{4, 4, 3}}, // 11 events with the join
		{"by bytes", 100, 2000, repeat("m", 6, 600), []int{3, 2, 2}},  // about 800 bytes a message, 200 the join
		{"an event over the byte limit goes alone", 100, 1100, []string{strings.Repeat("x", 1500), "a", "b"}, []int{1, 1, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := newNode(t, "a", tempStore(t), func(c *chatnode.Config) { c.PageEvents, c.PageBytes = tc.pageEvents, tc.pageSize })
			c, _ := createChat(t, n, url.Values{"nickname": {"Ann"}})
			for _, text := range tc.texts {
				c.send(t, n, text)
			}
			pos, index, pages := 1, 1, []int{}
			for len(pages) <= len(tc.wantPages) {
				r := c.do(t, n, "refresh", "transcriptPosition", strconv.Itoa(pos))
				if r.Status != 200 {
					t.Fatalf("refresh from %d: %+v", pos, r)
				}
				if len(r.Messages) == 0 {
					break
				}
				for _, m := range r.Messages {
					if m.Index != index {
						t.Fatalf("refresh from %d: index %d, want %d", pos, m.Index, index)
					}
					index++
				}
				if r.NextPosition != index {
					t.Fatalf("refresh from %d: nextPosition %d, want %d", pos, r.NextPosition, index)
				}
				pages, pos = append(pages, len(r.Messages)), r.NextPosition
			}
			if fmt.Sprint(pages) != fmt.Sprint(tc.wantPages) {
				t.Fatalf("pages of %v events, want %v", pages, tc.wantPages)
			}
			if index != len(tc.texts)+2 {
				t.Fatalf("read up to index %d of %d events", index-1, len(tc.texts)+1)
			}
		})
	}
}

func repeat(prefix string, count, size int) []string {
	out := make([]string, count)
	for i := range out {
		s := fmt.Sprintf("%s%d-", prefix, i)
		out[i] = s + strings.Repeat("x", size-len(s))
	}
	return out
}
