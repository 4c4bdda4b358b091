package api_test

import (
	"encoding/json"
	"mime"
	"strings"
	"testing"
	"unicode/utf8"

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
	f.Add([]byte(`{"message":"\ud83d\ude00","userData":{"\ud800":"x"}}`))
	f.Add([]byte("{\"message\":\"a\xffb\"}"))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := api.ParseJSON(body, 64)
		checkParsed(t, r, err)
		if err == nil {
			checkNoReplacement(t, body, r)
		}
	})
}

// checkNoReplacement fails if a field ParseJSON accepted holds U+FFFD that the
// body did not spell: a character the decoder put in place of a bad one.
func checkNoReplacement(t *testing.T, body []byte, r *api.Request) {
	if strings.ContainsRune(string(body), utf8.RuneError) || strings.Contains(strings.ToLower(string(body)), `\ufffd`) {
		return
	}
	values := []string{r.Nickname, r.FirstName, r.LastName, r.Subject, r.Email, r.Text, r.UserID, r.SecureKey, r.Alias, r.Message, r.MessageType}
	for k, v := range r.UserData {
		values = append(values, k, v)
	}
	for _, v := range values {
		if strings.ContainsRune(v, utf8.RuneError) {
			raw, _ := json.Marshal(string(body))
			t.Fatalf("accepted %s with a replaced character in %q", raw, v)
		}
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	in := &api.Request{Nickname: "Ann & Bob", Text: "a=b", TranscriptPosition: 3, UserData: map[string]string{"order": "42"}}
	out, err := api.ParseForm(in.Encode(), 100)
	if err != nil || out.Nickname != in.Nickname || out.Text != in.Text || out.TranscriptPosition != 3 || out.UserData["order"] != "42" {
		t.Fatalf("ParseForm(Encode()) = %+v, %v", out, err)
	}
	zero := &api.Request{PositionGiven: true, PushURL: "https://example.com/a?b=c"}
	out, err = api.ParseForm(zero.Encode(), 100)
	if err != nil || out.Position(1) != 0 || out.PushURL != zero.PushURL {
		t.Fatalf("ParseForm(Encode()) of position 0 = %+v, %v", out, err)
	}
	if out, _ := api.ParseForm([]byte("secureKey=k"), 100); out.Position(1) != 1 || out.Position(0) != 0 {
		t.Fatalf("a request without a position: Position(1) = %d", out.Position(1))
	}
}

func TestIsJSON(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/json":                  true,
		"APPLICATION/JSON":                  true,
		"Application/Json; charset=UTF-8":   true,
		" application/json ;charset=utf-8":  true,
		"application/x-www-form-urlencoded": false,
		"application/jsonp":                 false,
		"text/json":                         false,
		"application/vnd.api+json":          false,
		"":                                  false,
		"application/j\u017fon":             false,
	} {
		if got := api.IsJSON([]byte(ct)); got != want {
			t.Errorf("IsJSON(%q) = %v, want %v", ct, got, want)
		}
	}
}

// FuzzIsJSON checks IsJSON against mime.ParseMediaType wherever that parses.
func FuzzIsJSON(f *testing.F) {
	for _, s := range []string{"application/json", "APPLICATION/JSON; charset=utf-8", "application/x-www-form-urlencoded", "text/plain;a=b", "application/j\u017fon"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ct string) {
		media, _, err := mime.ParseMediaType(ct)
		if err != nil {
			return
		}
		if got, want := api.IsJSON([]byte(ct)), media == "application/json"; got != want {
			t.Fatalf("IsJSON(%q) = %v; mime reads media type %q", ct, got, media)
		}
	})
}

func TestParseJSONRefusesWhatItWouldReplace(t *testing.T) {
	good := []string{
		`{"nickname":"Ann \ud83d\ude00"}`,
		`{"nickname":"\\ud800 is text, not an escape"}`,
		`{"nickname":"Ann","text":"\u00e9\"\\"}`,
		`{"nickname":"Ann","userData":{"k":"\uDBFF\uDFFF"}}`,
		"{\"nickname\":\"literal \uFFFD is fine\"}",
	}
	for _, body := range good {
		if _, err := api.ParseJSON([]byte(body), 100); err != nil {
			t.Errorf("ParseJSON(%s): %v", body, err)
		}
	}
	bad := []string{
		"{\"nickname\":\"Ann\xff\"}",
		"{\"nickname\":\"Ann\",\"userData\":{\"k\xc3\":\"v\"}}",
		"{\"tenant\xed\xa0\x80\":1,\"nickname\":\"Ann\"}",
		`{"nickname":"\ud83d"}`,
		`{"nickname":"\ude00"}`,
		`{"nickname":"\ud83d\u0041"}`,
		`{"nickname":"\ud83d\\ude00"}`,
		`{"unknown":"\udfff","nickname":"Ann"}`,
		`{"nickname":"Ann","userData":{"\ud800":"v"}}`,
	}
	for _, body := range bad {
		_, err := api.ParseJSON([]byte(body), 100)
		if e, ok := err.(*api.Error); !ok || e.HTTPStatus != 400 {
			t.Errorf("ParseJSON(%q) = %v, want a 400", body, err)
		}
	}
}
