package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The browser helpers: a headless Chromium (Debian's chromium from PATH)
// driven over the DevTools protocol with chromedp, for any test that must
// see what a page shows: open a tab, wait for a condition in the page,
// read its DOM as JSON, save a screenshot under e2e/artifacts/.

// artifacts is where tests save what a person may want to look at.
const artifacts = "artifacts"

// browser is one headless Chromium process for a test; it is stopped when
// the test ends.
type browser struct {
	ctx context.Context // the browser's, for new tabs
}

// newBrowser starts headless Chromium. Without chromium on PATH the test is
// skipped, except in CI (CI=true), where test.sh installs it and the test fails.
func newBrowser(t testing.TB) *browser {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed: test.sh installs it")
		}
		t.Skip("chromium is not installed (apt-get install chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 1100),
		chromedp.Flag("disable-quic", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	if _, err := chromedp.Run(bctx, chromedp.Navigate("about:blank")); err != nil { // starts the process
		t.Fatalf("cannot start chromium: %v", err)
	}
	return &browser{ctx: bctx}
}

// tab opens a new tab at url, which the test may use for timeout in all.
func (b *browser) tab(t testing.TB, url string, timeout time.Duration) context.Context {
	t.Helper()
	tctx, cancelTab := chromedp.NewContext(b.ctx)
	ctx, cancel := context.WithTimeout(tctx, timeout)
	t.Cleanup(func() { cancel(); cancelTab() })
	if _, err := chromedp.Run(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("cannot open %s: %v", url, err)
	}
	return ctx
}

// evalJSON evaluates the JavaScript expression expr in the tab and decodes
// its value (made JSON by the browser) into out.
func evalJSON(t testing.TB, ctx context.Context, expr string, out any) {
	t.Helper()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("evaluate %s: %s: %v", expr, raw, err)
	}
}

// waitPage polls the page until cond, given what read returns from the
// page's DOM (a JavaScript expression), returns ""; after timeout it fails
// the test with cond's last answer.
func waitPage[T any](t testing.TB, ctx context.Context, timeout time.Duration, read string, cond func(T) string) T {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var v T
		evalJSON(t, ctx, read, &v)
		why := cond(v)
		if why == "" {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v the page shows: %s", timeout, why)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// screenshot saves a full-page PNG of the tab as artifacts/name.png, logs
// its path and returns it.
func screenshot(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100 is PNG, less is JPEG
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	path, err := filepath.Abs(filepath.Join(artifacts, name+".png"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
	return path
}
