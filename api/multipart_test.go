package api_test

import (
	"bytes"
	"mime/multipart"
	"strings"
	"testing"

	"github.com/chatha/chatha/api"
)

// multipartBody builds a body with fields and parts, as a browser's
// FormData would send it.
func multipartBody(t testing.TB, build func(w *multipart.Writer)) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	build(w)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	boundary, ok := api.MultipartBoundary([]byte(w.FormDataContentType()))
	if !ok {
		t.Fatalf("no boundary in %q", w.FormDataContentType())
	}
	return buf.Bytes(), boundary
}

func TestParseMultipart(t *testing.T) {
	body, boundary := multipartBody(t, func(w *multipart.Writer) {
		w.WriteField("secureKey", "k")
		w.WriteField("userId", "")
		w.WriteField("alias", "")
		w.WriteField("userData[file-description]", "a photo")
		f, _ := w.CreateFormFile("file", `C:\Users\ann\shot.png`)
		f.Write([]byte("\x89PNG\r\n\x1a\n..."))
	})
	r, err := api.ParseMultipart(body, boundary, 100)
	if err != nil {
		t.Fatal(err)
	}
	if r.SecureKey != "k" || r.UserData["file-description"] != "a photo" || r.File == nil || r.File.Name != "shot.png" ||
		!bytes.HasPrefix(r.File.Data, []byte("\x89PNG")) || r.File.Type != "application/octet-stream" {
		t.Fatalf("ParseMultipart = %+v, file %+v", r, r.File)
	}
	// A create as multipart: fields only.
	body, boundary = multipartBody(t, func(w *multipart.Writer) {
		w.WriteField("nickname", "Ann")
		w.WriteField("transcriptPosition", "0")
	})
	if r, err := api.ParseMultipart(body, boundary, 100); err != nil || r.Nickname != "Ann" || r.File != nil || r.Position(1) != 0 {
		t.Fatalf("fields only: %+v, %v", r, err)
	}
}

func TestParseMultipartRefuses(t *testing.T) {
	for name, build := range map[string]func(w *multipart.Writer){
		"two files": func(w *multipart.Writer) {
			w.CreateFormFile("file", "a.txt")
			w.CreateFormFile("file", "b.txt")
		},
		"a file in another part": func(w *multipart.Writer) { w.CreateFormFile("attachment", "a.txt") },
		"a long field": func(w *multipart.Writer) {
			w.WriteField("message", strings.Repeat("x", 101))
		},
		"bad UTF-8": func(w *multipart.Writer) { w.WriteField("nickname", "A\xffn") },
		"too many parts": func(w *multipart.Writer) {
			for range 300 {
				w.WriteField("x", "y")
			}
		},
	} {
		body, boundary := multipartBody(t, build)
		_, err := api.ParseMultipart(body, boundary, 100)
		if e, ok := err.(*api.Error); !ok || e.HTTPStatus/100 != 4 {
			t.Errorf("%s: err = %v, want a 4xx", name, err)
		}
	}
	if _, err := api.ParseMultipart([]byte("--b\r\nnot a part"), "b", 100); err == nil {
		t.Error("a broken body was accepted")
	}
}

func TestMultipartBoundary(t *testing.T) {
	for ct, want := range map[string]string{
		"multipart/form-data; boundary=abc":        "abc",
		`Multipart/Form-Data; boundary="a b"`:      "a b",
		"multipart/form-data":                      "",
		"multipart/mixed; boundary=abc":            "",
		"application/x-www-form-urlencoded":        "",
		"multipart/form-data; boundary=":           "",
		"multipart/form-data; boundary=abc; x=\"y": "",
	} {
		got, ok := api.MultipartBoundary([]byte(ct))
		if got != want || ok != (want != "") {
			t.Errorf("MultipartBoundary(%q) = %q, %v; want %q", ct, got, ok, want)
		}
	}
}

// FuzzParseMultipart: whatever the body, ParseMultipart answers a request
// within the limits or an API error, never panics, and never hands back a
// file larger than the body or a file name with a folder.
func FuzzParseMultipart(f *testing.F) {
	body, boundary := multipartBody(f, func(w *multipart.Writer) {
		w.WriteField("secureKey", "k")
		w.WriteField("transcriptPosition", "3")
		fw, _ := w.CreateFormFile("file", "../a.png")
		fw.Write([]byte("data"))
	})
	f.Add(body, boundary)
	f.Add([]byte("--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\\\\b.txt\"\r\n\r\nhi\r\n--x--\r\n"), "x")
	f.Add([]byte("--x\r\nContent-Disposition: form-data; name=\"userData[k]\"\r\n\r\n\xff\r\n--x--"), "x")
	f.Add([]byte(""), "x")
	f.Fuzz(func(t *testing.T, body []byte, boundary string) {
		if boundary == "" || len(boundary) > 70 {
			return
		}
		r, err := api.ParseMultipart(body, boundary, 64)
		checkParsed(t, r, err)
		if err == nil && r.File != nil && (len(r.File.Data) > len(body) || strings.ContainsAny(r.File.Name, `/\`)) {
			t.Fatalf("file %q of %d bytes from a body of %d", r.File.Name, len(r.File.Data), len(body))
		}
	})
}

func TestIsUpload(t *testing.T) {
	for _, tc := range []struct {
		method, uri string
		want        bool
	}{
		{"POST", "/genesys/2/chat/support/abc/file", true},
		{"POST", "/genesys/2/chat/support/abc/file/", true},
		{"POST", "/genesys/2/chat/support/abc/file?x=1", true},
		{"GET", "/genesys/2/chat/support/abc/file", false},
		{"POST", "/genesys/2/chat/support/abc/file/limits", false},
		{"POST", "/genesys/2/chat/support/abc/send", false},
		{"POST", "/genesys/2/chat/support/file", false},
		{"POST", "/genesys/2/chat//abc/file", false},
		{"POST", "/genesys/2/chat/support//file", false},
		{"POST", "/genesys/2/chat/support/abc/xfile", false},
		{"POST", "/other/2/chat/support/abc/file", false},
		{"POST", "/genesys/2/chat-ntf", true},
		{"POST", "/genesys/2/chat-ntf?operation=fileUpload", true},
		{"GET", "/genesys/2/chat-ntf", false},
		{"POST", "/genesys/2/chat-ntf/x", false},
	} {
		if got := api.IsUpload([]byte(tc.method), []byte(tc.uri)); got != tc.want {
			t.Errorf("IsUpload(%s %s) = %v, want %v", tc.method, tc.uri, got, tc.want)
		}
	}
}
