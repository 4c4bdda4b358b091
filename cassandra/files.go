package cassandra

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gocql/gocql"

	"github.com/chatha/chatha/chat"
)

// chunkSize is the most bytes of a file one row holds: cells stay small
// enough for Cassandra's mutation and page limits whatever the file's size.
const chunkSize = 256 << 10

// headerChunk is the chunk number of a file's header row (its size and chunk
// count); it sorts before the chunks of bytes.
const headerChunk = -1

// errBrokenFile is a file whose rows do not add up to what its header says.
var errBrokenFile = errors.New("the file's chunks do not match its header")

// PutFile implements chat.Files. A file is its header row and its chunks in
// the chat's partition of the files table. The header goes first out and
// last in: PutFile deletes it, writes the chunks, then writes it, so a
// reader never takes a file whose upload is under way or failed; a failed
// PutFile deletes what it wrote. Every row carries the chat's 1.5 times the
// TTL, and is written again by the chat's refresh.
func (s *Store) PutFile(ctx context.Context, chatID, fileID string, data []byte) error {
	if err := s.live(ctx, chatID); err != nil {
		return fmt.Errorf("cannot store file %q of chat %q: %w", fileID, chatID, err)
	}
	if err := s.writeFile(ctx, chatID, fileID, data); err != nil {
		if derr := s.DeleteFile(context.WithoutCancel(ctx), chatID, fileID); derr != nil {
			s.logger.Warn("cannot delete the rows of a file whose upload failed; they expire with the chat", "chat", chatID, "err", derr)
		}
		return fmt.Errorf("cannot store file %q of chat %q: %w", fileID, chatID, err)
	}
	return nil
}

func (s *Store) writeFile(ctx context.Context, chatID, fileID string, data []byte) error {
	err := s.retry(ctx, func(ctx context.Context) error {
		return s.session.Query(s.q.deleteFileHeader, chatID, fileID, headerChunk).WithContext(ctx).Exec()
	})
	if err != nil {
		return err
	}
	chunks := 0
	for from := 0; from < len(data); from += chunkSize {
		part := data[from:min(from+chunkSize, len(data))]
		err := s.retry(ctx, func(ctx context.Context) error {
			return s.session.Query(s.q.insertChunk, chatID, fileID, chunks, part).WithContext(ctx).Exec()
		})
		if err != nil {
			return err
		}
		chunks++
	}
	return s.retry(ctx, func(ctx context.Context) error {
		return s.session.Query(s.q.insertHeader, chatID, fileID, headerChunk, int64(len(data)), chunks).WithContext(ctx).Exec()
	})
}

// ReadFile implements chat.Files: the header, then its chunks in order, one
// page at a time.
func (s *Store) ReadFile(ctx context.Context, chatID, fileID string) ([]byte, error) {
	if err := s.live(ctx, chatID); err != nil {
		return nil, fmt.Errorf("cannot read file %q of chat %q: %w", fileID, chatID, err)
	}
	var data []byte
	err := s.retry(ctx, func(ctx context.Context) (err error) {
		data, err = s.readChunks(ctx, chatID, fileID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("cannot read file %q of chat %q: %w", fileID, chatID, err)
	}
	return data, nil
}

func (s *Store) readChunks(ctx context.Context, chatID, fileID string) ([]byte, error) {
	iter := s.session.Query(s.q.selectFile, chatID, fileID).WithContext(ctx).PageSize(4).Iter()
	var (
		chunk, chunks, rowChunks int
		size, rowSize            int64
		part, data               []byte
		header                   bool
	)
	for iter.Scan(&chunk, &part, &rowSize, &rowChunks) {
		switch {
		case chunk == headerChunk:
			header, size, chunks = true, rowSize, rowChunks
			data = make([]byte, 0, min(size, chunkSize*int64(chunks)))
		case !header || chunk >= chunks:
			// Chunks with no header (an upload under way or failed), or
			// past its count (left from a longer file of that id): not the file.
		case chunk != len(data)/chunkSize || len(data)%chunkSize != 0:
			iter.Close()
			return nil, errBrokenFile
		default:
			data = append(data, part...)
		}
	}
	if err := iter.Close(); err != nil {
		return nil, err
	}
	switch {
	case !header:
		return nil, chat.ErrUnknownFile
	case int64(len(data)) != size:
		return nil, errBrokenFile
	}
	return data, nil
}

// DeleteFile implements chat.Files with one range deletion of the file's rows.
func (s *Store) DeleteFile(ctx context.Context, chatID, fileID string) error {
	err := s.retry(ctx, func(ctx context.Context) error {
		return s.session.Query(s.q.deleteFile, chatID, fileID).WithContext(ctx).Exec()
	})
	if err != nil {
		return fmt.Errorf("cannot delete file %q of chat %q: %w", fileID, chatID, err)
	}
	return nil
}

// deleteFiles deletes every file of a chat: its partition of the files table.
func (s *Store) deleteFiles(ctx context.Context, chatID string) error {
	return s.retry(ctx, func(ctx context.Context) error {
		return s.session.Query(s.q.deleteFiles, chatID).WithContext(ctx).Exec()
	})
}

// live fails with chat.ErrUnknownChat unless the chat's last_write is set:
// it has not ended or expired.
func (s *Store) live(ctx context.Context, chatID string) error {
	return s.retry(ctx, func(ctx context.Context) error {
		var last time.Time
		err := s.session.Query(s.q.selectLive, chatID).WithContext(ctx).Scan(&last)
		if errors.Is(err, gocql.ErrNotFound) || (err == nil && last.IsZero()) {
			return chat.ErrUnknownChat
		}
		return err
	})
}

// refreshFiles writes every row of a chat's files again, as it is, with a
// fresh TTL: the files of a chat in use live as long as its records.
func (s *Store) refreshFiles(ctx context.Context, chatID string) error {
	iter := s.session.Query(s.q.selectFiles, chatID).WithContext(ctx).PageSize(4).Iter()
	var (
		fileID       string
		chunk, count int
		size         int64
		data         []byte
	)
	for iter.Scan(&fileID, &chunk, &data, &size, &count) {
		q, args := s.q.insertChunk, []any{chatID, fileID, chunk, data}
		if chunk == headerChunk {
			q, args = s.q.insertHeader, []any{chatID, fileID, chunk, size, count}
		}
		err := s.retry(ctx, func(ctx context.Context) error { return s.session.Query(q, args...).WithContext(ctx).Exec() })
		if err != nil {
			iter.Close()
			return fmt.Errorf("cannot refresh file %q of chat %q: %w", fileID, chatID, err)
		}
	}
	if err := iter.Close(); err != nil {
		return fmt.Errorf("cannot read the files of chat %q: %w", chatID, err)
	}
	return nil
}
