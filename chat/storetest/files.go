package storetest

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/chatha/chatha/chat"
)

// fileSizes are the sizes of the suite's files: empty, small, and larger
// than a few of the chunks a store may cut files into (Cassandra's are 256
// KiB), not a multiple of any.
var fileSizes = []int{0, 1, 1000, 700<<10 + 17}

func content(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func putFile(t *testing.T, s chat.Store, chatID, fileID string, data []byte) {
	t.Helper()
	if err := s.PutFile(ctx(t), chatID, fileID, data); err != nil {
		t.Fatalf("PutFile(%s, %d bytes): %v", fileID, len(data), err)
	}
}

func checkFile(t *testing.T, s chat.Store, chatID, fileID string, want []byte) {
	t.Helper()
	got, err := s.ReadFile(ctx(t), chatID, fileID)
	if err != nil {
		t.Fatalf("ReadFile(%s): %v", fileID, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("ReadFile(%s) = %d bytes, want the %d stored", fileID, len(got), len(want))
	}
}

// testFiles: files of every size come back as stored, each by its id;
// putting an id again replaces it; a deleted file is gone and the others stay.
func testFiles(t *testing.T, s chat.Store) {
	id := create(t, s, 1)
	stored := map[string][]byte{}
	for i, n := range fileSizes {
		fid := string(rune('a'+i)) + "-file"
		stored[fid] = content(t, n)
		putFile(t, s, id, fid, stored[fid])
	}
	for fid, data := range stored {
		checkFile(t, s, id, fid, data)
	}
	stored["b-file"] = content(t, 300<<10)
	putFile(t, s, id, "b-file", stored["b-file"])
	checkFile(t, s, id, "b-file", stored["b-file"])
	stored["d-file"] = content(t, 10)
	putFile(t, s, id, "d-file", stored["d-file"]) // fewer chunks than before
	checkFile(t, s, id, "d-file", stored["d-file"])

	if err := s.DeleteFile(ctx(t), id, "a-file"); err != nil {
		t.Fatalf("DeleteFile: %v", err)
	}
	if err := s.DeleteFile(ctx(t), id, "never-stored"); err != nil {
		t.Fatalf("DeleteFile of a file that is not there: %v", err)
	}
	if _, err := s.ReadFile(ctx(t), id, "a-file"); !errors.Is(err, chat.ErrUnknownFile) {
		t.Fatalf("ReadFile of a deleted file: err = %v, want ErrUnknownFile", err)
	}
	if _, err := s.ReadFile(ctx(t), id, "never-stored"); !errors.Is(err, chat.ErrUnknownFile) {
		t.Fatalf("ReadFile of an unknown file: err = %v, want ErrUnknownFile", err)
	}
	for _, fid := range []string{"b-file", "c-file", "d-file"} {
		checkFile(t, s, id, fid, stored[fid])
	}
	other := create(t, s, 1)
	if _, err := s.ReadFile(ctx(t), other, "b-file"); !errors.Is(err, chat.ErrUnknownFile) {
		t.Fatalf("another chat reads the file: err = %v, want ErrUnknownFile", err)
	}
}

// testFilesGoWithTheChat: a chat's files are gone with its live rows
// (Delete), and no file is stored for a chat that is not live.
func testFilesGoWithTheChat(t *testing.T, s chat.Store) {
	id := create(t, s, 1)
	putFile(t, s, id, "f", content(t, 300<<10))
	if err := s.Delete(ctx(t), id); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.ReadFile(ctx(t), id, "f"); !errors.Is(err, chat.ErrUnknownChat) {
		t.Fatalf("ReadFile of a deleted chat: err = %v, want ErrUnknownChat", err)
	}
	for _, chatID := range []string{id, ChatID(t)} {
		if err := s.PutFile(ctx(t), chatID, "g", []byte("late")); !errors.Is(err, chat.ErrUnknownChat) {
			t.Fatalf("PutFile to a chat that is not live: err = %v, want ErrUnknownChat", err)
		}
		if _, err := s.ReadFile(ctx(t), chatID, "g"); !errors.Is(err, chat.ErrUnknownChat) {
			t.Fatalf("ReadFile of a chat that is not live: err = %v, want ErrUnknownChat", err)
		}
	}
}
