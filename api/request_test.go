package api_test

import (
	"testing"

	"github.com/chatha/chatha/api"
)

func TestParseJSON(t *testing.T) {
	r, err := api.ParseJSON([]byte(`{"nickname":"Ann","transcriptPosition":4,"userData":{"k":"v"},"extra":{"a":true},"message":null}`), 100)
	if err != nil || r.Nickname != "Ann" || r.TranscriptPosition != 4 || r.UserData["k"] != "v" {
		t.Fatalf("ParseJSON = %+v, %v", r, err)
	}
	for _, bad := range []string{``, `[]`, `{"userData":{"k":1}}`, `{"transcriptPosition":"x"}`, `{"message":{}}`, `{"nickname":true}`} {
		if _, err := api.ParseJSON([]byte(bad), 100); err == nil {
			t.Errorf("ParseJSON(%s) accepted", bad)
		}
	}
}

func TestParseForm(t *testing.T) {
	r, err := api.ParseForm([]byte("firstName=Ann&lastName=Lee&userData%5Bk%5D=v&tenantName=x"), 100)
	if err != nil || r.FirstName != "Ann" || r.UserData["k"] != "v" {
		t.Fatalf("ParseForm = %+v, %v", r, err)
	}
}

// checkParsed holds for anything a parser accepts.
func checkParsed(t *testing.T, r *api.Request, err error) {
	if err != nil {
		if _, ok := err.(*api.Error); !ok {
			t.Fatalf("error %T %v is not an API error", err, err)
		}
		return
	}
	if len(r.Message) > 64 || len(r.Text) > 64 || len(r.UserData) > 64 || r.TranscriptPosition < 0 {
		t.Fatalf("limits not enforced: %+v", r)
	}
}

func FuzzParseForm(f *testing.F) {
	f.Add([]byte("nickname=Ann&userData%5Bk%5D=v&transcriptPosition=3"))
	f.Add([]byte("message=%ff&&=&"))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := api.ParseForm(body, 64)
		checkParsed(t, r, err)
	})
}

func FuzzParseJSON(f *testing.F) {
	f.Add([]byte(`{"nickname":"Ann","userData":{"k":"v"},"transcriptPosition":3}`))
	f.Add([]byte(`{"message":1e999}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := api.ParseJSON(body, 64)
		checkParsed(t, r, err)
	})
}

func TestEncodeRoundTrip(t *testing.T) {
	in := &api.Request{Nickname: "Ann & Bob", Text: "a=b", TranscriptPosition: 3, UserData: map[string]string{"order": "42"}}
	out, err := api.ParseForm(in.Encode(), 100)
	if err != nil || out.Nickname != in.Nickname || out.Text != in.Text || out.TranscriptPosition != 3 || out.UserData["order"] != "42" {
		t.Fatalf("ParseForm(Encode()) = %+v, %v", out, err)
	}
}
