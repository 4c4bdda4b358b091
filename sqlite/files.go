package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/chatha/chatha/chat"
)

// PutFile implements chat.Files: the file is one blob, written in one
// transaction with the check that the chat is live.
func (s *Store) PutFile(ctx context.Context, chatID, fileID string, data []byte) error {
	if data == nil {
		data = []byte{} // the column is NOT NULL; an empty file is a file
	}
	return s.submit(ctx, func(tx *sql.Tx) error {
		if err := live(ctx, tx, chatID); err != nil {
			return fmt.Errorf("cannot store file %s of chat %s: %w", fileID, chatID, err)
		}
		if _, err := tx.Exec(`INSERT OR REPLACE INTO files (chat_id, file_id, data) VALUES (?, ?, ?)`, chatID, fileID, data); err != nil {
			return fmt.Errorf("cannot store file %s of chat %s: %w", fileID, chatID, err)
		}
		return nil
	})
}

// ReadFile implements chat.Files.
func (s *Store) ReadFile(ctx context.Context, chatID, fileID string) ([]byte, error) {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("cannot read file %s of chat %s: %w", fileID, chatID, err)
	}
	defer tx.Rollback()
	if err := live(ctx, tx, chatID); err != nil {
		return nil, fmt.Errorf("cannot read file %s of chat %s: %w", fileID, chatID, err)
	}
	var data []byte
	err = tx.QueryRowContext(ctx, `SELECT data FROM files WHERE chat_id = ? AND file_id = ?`, chatID, fileID).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		err = chat.ErrUnknownFile
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read file %s of chat %s: %w", fileID, chatID, err)
	}
	return data, nil
}

// DeleteFile implements chat.Files.
func (s *Store) DeleteFile(ctx context.Context, chatID, fileID string) error {
	return s.submit(ctx, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`DELETE FROM files WHERE chat_id = ? AND file_id = ?`, chatID, fileID); err != nil {
			return fmt.Errorf("cannot delete file %s of chat %s: %w", fileID, chatID, err)
		}
		return nil
	})
}

// live fails with chat.ErrUnknownChat unless the chat has a session row that
// has not expired.
func live(ctx context.Context, tx *sql.Tx, chatID string) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM sessions WHERE chat_id = ? AND expires_at >= ?`, chatID, time.Now().UnixMilli()).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return chat.ErrUnknownChat
	}
	return err
}
