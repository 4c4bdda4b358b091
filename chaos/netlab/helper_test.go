package netlab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as the programs run inside the lab's namespaces:
// with NETLAB_HELPER set it plays that part and exits.
const (
	helperEnv = "NETLAB_HELPER" // echo, dial, udprecv or udpsend
	addrEnv   = "NETLAB_ADDR"   // the address to listen on or talk to
)

// Exit codes of the dial and udprecv helpers.
const (
	exitReached     = 0
	exitUnreachable = 3 // timed out, or no route to the host
	exitRefused     = 4 // reached a host with nobody listening
	exitBroken      = 5 // anything else
)

// dialTimeout is how long a connection may take before the address counts
// as unreachable; on a bridge a reachable member answers in microseconds.
const dialTimeout = time.Second

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(runHelper(mode, os.Getenv(addrEnv)))
	}
	os.Exit(m.Run())
}

func runHelper(mode, addr string) int {
	switch mode {
	case "echo":
		return echoServer(addr)
	case "dial":
		return dialEcho(addr)
	case "udprecv":
		return udpReceive(addr)
	case "udpsend":
		return udpSend(addr)
	}
	fmt.Fprintf(os.Stderr, "unknown helper %q\n", mode)
	return exitBroken
}

// echoServer echoes lines on TCP addr until killed; it prints "ready" once
// it listens.
func echoServer(addr string) int {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return exitBroken
	}
	fmt.Println("ready")
	for {
		c, err := ln.Accept()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return exitBroken
		}
		go func() {
			defer c.Close()
			io.Copy(c, c)
		}()
	}
}

// dialEcho reports whether an echo server answers on addr.
func dialEcho(addr string) int {
	err := echo(addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	return dialExit(err)
}

func dialExit(err error) int {
	var ne net.Error
	switch {
	case err == nil:
		return exitReached
	case errors.Is(err, syscall.ECONNREFUSED):
		return exitRefused
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return exitUnreachable
	}
	return exitBroken
}

// echo sends a line to the echo server at addr and checks the answer.
func echo(addr string) error {
	c, err := net.DialTimeout("tcp", addr, dialTimeout)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(dialTimeout))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "ping\n" {
		return fmt.Errorf("echo answered %q", line)
	}
	return nil
}

// udpReceive waits up to two seconds for one datagram on addr; it prints
// "ready" once it listens.
func udpReceive(addr string) int {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return exitBroken
	}
	defer pc.Close()
	fmt.Println("ready")
	pc.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, _, err := pc.ReadFrom(make([]byte, 64)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return dialExit(err)
	}
	return exitReached
}

// udpSend sends a datagram to addr every 50 ms for a second.
func udpSend(addr string) int {
	c, err := net.Dial("udp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return exitBroken
	}
	defer c.Close()
	for range 20 {
		c.Write([]byte("hello"))
		time.Sleep(50 * time.Millisecond) // a pacing interval, not a wait for a condition
	}
	return exitReached
}

// helper returns a command running the test binary as helper mode with addr
// inside member.
func helper(t *testing.T, l *Lab, member, mode, addr string) *exec.Cmd {
	t.Helper()
	cmd, err := l.Command(context.Background(), member, os.Args[0], "-test.run=^$")
	if err != nil {
		t.Fatal(err)
	}
	// A race-enabled binary sleeps a second before it exits unless told not to.
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, addrEnv+"="+addr, "GORACE=atexit_sleep_ms=0")
	return cmd
}

// startReady starts cmd, waits until it prints "ready", and stops it when
// the test ends.
func startReady(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("helper did not get ready: %q %v; stderr: %s", line, err, stderr.String())
	}
}

// exitCode runs cmd and returns its exit code.
func exitCode(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee) && ee.ExitCode() > 0:
		return ee.ExitCode()
	}
	t.Fatalf("cannot run helper: %v; stderr: %s", err, stderr.String())
	return -1
}
