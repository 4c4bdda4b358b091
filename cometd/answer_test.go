package cometd

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// answerWith makes a REST answer holding events with the given indexes (0 is transient).
func answerWith(next int, indexes ...int) *restAnswer {
	var msgs []string
	for i, ix := range indexes {
		msgs = append(msgs, fmt.Sprintf(`{"index":%d,"type":"Message","text":"m%d"}`, ix, i))
	}
	body := fmt.Sprintf(`{"statusCode":0,"chatId":"c1","nextPosition":%d,"chatEnded":false,"monitored":true,"messages":[%s]}`, next, strings.Join(msgs, ","))
	return parseAnswer(200, []byte(body))
}

func indexesOf(t *testing.T, msgs []json.RawMessage) []int {
	t.Helper()
	out := []int{}
	for _, m := range msgs {
		var v struct{ Index int }
		if err := json.Unmarshal(m, &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v.Index)
	}
	return out
}

func TestPick(t *testing.T) {
	tests := []struct {
		name    string
		ans     *restAnswer
		hwm     int
		from    int
		want    []int
		wantHWM int
	}{
		{"fresh from 1", answerWith(4, 1, 2, 3), 0, 1, []int{1, 2, 3}, 3},
		{"drops delivered", answerWith(6, 3, 4, 5), 3, 4, []int{4, 5}, 5},
		{"from covers a gap", answerWith(8, 5, 7), 4, 5, []int{5, 7}, 7},
		{"operation answer stops at a gap", answerWith(8, 5, 7), 4, 0, []int{5}, 5},
		{"operation answer with nothing new", answerWith(5, 2, 3, 4), 4, 0, []int{}, 4},
		{"out of order is sorted", answerWith(4, 3, 1, 2), 0, 1, []int{1, 2, 3}, 3},
		{"transient after transcript", answerWith(3, 0, 2, 0), 1, 2, []int{2, 0, 0}, 2},
		{"transient alone", answerWith(3, 0), 2, 0, []int{0}, 2},
		{"empty answer moves to nextPosition", answerWith(9), 4, 5, []int{}, 8},
		{"empty operation answer keeps hwm", answerWith(9), 4, 0, []int{}, 4},
		{"nextPosition behind is ignored", answerWith(3), 4, 5, []int{}, 4},
		{"answer from beyond hwm+1 takes only hwm+1", answerWith(9, 6, 7), 3, 6, []int{}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, hwm := pick(tt.ans, tt.hwm, tt.from)
			if got := indexesOf(t, msgs); !slices.Equal(got, tt.want) || hwm != tt.wantHWM {
				t.Fatalf("pick = %v, hwm %d; want %v, hwm %d", got, hwm, tt.want, tt.wantHWM)
			}
		})
	}
}

func TestAnswerData(t *testing.T) {
	a := answerWith(3, 1, 2)
	msgs, _ := pick(a, 1, 2)
	var got map[string]any
	if err := json.Unmarshal(a.data(msgs), &got); err != nil {
		t.Fatal(err)
	}
	if got["monitored"] != true || got["chatId"] != "c1" || got["chatEnded"] != false || got["statusCode"] != float64(0) {
		t.Errorf("fields of the REST answer are not kept: %v", got)
	}
	if n := len(got["messages"].([]any)); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
}

func TestParseAnswerNotJSON(t *testing.T) {
	tests := []struct {
		status     int
		statusCode int
		retryable  bool
	}{
		{502, statusRetry, true},
		{503, statusRetry, true},
		{404, statusError, false},
		{200, statusError, false},
	}
	for _, tt := range tests {
		a := parseAnswer(tt.status, []byte("<html>Bad Gateway</html>"))
		if a.statusCode != tt.statusCode || a.retryable() != tt.retryable {
			t.Errorf("HTTP %d: statusCode %d retryable %v; want %d %v", tt.status, a.statusCode, a.retryable(), tt.statusCode, tt.retryable)
		}
		var v map[string]any
		if err := json.Unmarshal(a.data(nil), &v); err != nil || v["errors"] == nil {
			t.Errorf("HTTP %d: data %s has no errors", tt.status, a.data(nil))
		}
	}
	if a := parseAnswer(409, []byte(`{"statusCode":1,"messages":[]}`)); !a.retryable() {
		t.Error("a moved answer (statusCode 1) is not retried")
	}
}
