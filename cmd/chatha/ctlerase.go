package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/chat"
)

// eraseTimeout bounds an erasure by userData, which erases chat after chat.
const eraseTimeout = 5 * time.Minute

// transcript prints the final transcript of a chat, indented.
func (c *ctl) transcript(chatID string) error {
	ctx, cancel := context.WithTimeout(context.Background(), ctlTimeout)
	defer cancel()
	data, err := c.client.Transcript(ctx, chatID)
	if err != nil {
		return fmt.Errorf("transcript of %s: %w", chatID, err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, data, "", "  "); err != nil {
		return fmt.Errorf("transcript of %s is not JSON: %w", chatID, err)
	}
	out.WriteByte('\n')
	_, err = out.WriteTo(c.out)
	return err
}

// erase reads erase's flags, --chat ID or --user-data KEY=VALUE, and erases.
func (c *ctl) erase(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("chatha ctl erase", flag.ContinueOnError)
	chatID := fs.String("chat", "", "erase the chat with this `id`")
	userData := fs.String("user-data", "", "erase every chat whose indexed userData has `KEY=VALUE` (erase-index-keys)")
	if _, err := parseCommandLine(fs, args, stderr); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0 || (*chatID == "") == (*userData == ""):
		return usageError{errors.New("erase takes one of --chat CHATID or --user-data KEY=VALUE")}
	case *chatID != "":
		return c.eraseChat(*chatID)
	}
	sel, err := api.ParseKeyValue(*userData)
	if err != nil {
		return usageError{fmt.Errorf("--user-data: %w", err)}
	}
	return c.eraseByUserData(sel)
}

func (c *ctl) eraseChat(chatID string) error {
	ctx, cancel := context.WithTimeout(context.Background(), ctlTimeout)
	defer cancel()
	e, err := c.client.Erase(ctx, chatID)
	if err != nil {
		return fmt.Errorf("erase %s: %w", chatID, err)
	}
	fmt.Fprintln(c.out, describe(e))
	return nil
}

func (c *ctl) eraseByUserData(sel api.Selector) error {
	ctx, cancel := context.WithTimeout(context.Background(), eraseTimeout)
	defer cancel()
	sum, err := c.client.EraseByUserData(ctx, sel)
	if err != nil {
		return fmt.Errorf("erase by userData %s: %w", sel.Key, err)
	}
	for _, e := range sum.Chats {
		fmt.Fprintln(c.out, describe(e))
	}
	for id, why := range sum.Failed {
		fmt.Fprintf(c.out, "not erased %s: %s\n", id, why)
	}
	fmt.Fprintf(c.out, "%s erased, %d failed\n", count(len(sum.Chats), "chat", "chats"), len(sum.Failed))
	if len(sum.Failed) > 0 {
		return fmt.Errorf("%d chats could not be erased; run the erasure again", len(sum.Failed))
	}
	return nil
}

// describe says in one line what an erasure removed.
func describe(e api.Erasure) string {
	var what []string
	if e.EndedLive {
		what = append(what, "ended the live chat")
	}
	what = append(what, found(e.Erased)...)
	if len(what) == 0 {
		what = append(what, "nothing was stored")
	}
	return fmt.Sprintf("erased %s on %s: %s", e.ChatID, e.Node, strings.Join(what, ", "))
}

func found(e chat.Erased) []string {
	var out []string
	add := func(ok bool, s string) {
		if ok {
			out = append(out, s)
		}
	}
	add(e.Session, "session")
	add(e.Records > 0, count(e.Records, "record", "records"))
	add(e.Files > 0, count(e.Files, "file", "files"))
	add(e.Transcript, "final transcript")
	add(e.Outbox, "undelivered webhook entry")
	add(e.Claims > 0, count(e.Claims, "create claim", "create claims"))
	add(e.Index > 0, count(e.Index, "index entry", "index entries"))
	return out
}

// count writes n with the word for one or for more.
func count(n int, one, more string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, more)
}
