package check

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Save writes h as indented JSON to path, replacing the file in one step.
func (h *History) Save(path string) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("cannot save history to %s: %w", path, err)
	}
	defer os.Remove(f.Name()) // after the rename this fails harmlessly
	if err := h.Write(f); err != nil {
		f.Close()
		return fmt.Errorf("cannot save history to %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("cannot save history to %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("cannot save history to %s: %w", path, err)
	}
	return nil
}

// Write encodes h as indented JSON to w.
func (h *History) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	if err := enc.Encode(h); err != nil {
		return fmt.Errorf("cannot encode history: %w", err)
	}
	return nil
}

// Load reads and validates a history saved by Save.
func Load(path string) (*History, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot load history: %w", err)
	}
	defer f.Close()
	h, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("cannot load history from %s: %w", path, err)
	}
	return h, nil
}

// Read decodes and validates a history written by Write.
func Read(r io.Reader) (*History, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var h History
	if err := dec.Decode(&h); err != nil {
		return nil, fmt.Errorf("%w: cannot decode: %w", ErrInvalidHistory, err)
	}
	if err := h.Validate(); err != nil {
		return nil, err
	}
	return &h, nil
}

// Replay loads the history saved at path and checks it again with cfg.
func Replay(path string, cfg Config) (*Summary, error) {
	h, err := Load(path)
	if err != nil {
		return nil, err
	}
	return Check(h, cfg)
}
