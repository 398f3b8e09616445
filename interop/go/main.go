// Command interop runs go-p2p's p2pkeswarm over udpswarm so that swarmwire's TypeScript
// P2PKE implementation can be tested against the Go reference implementation, and writes
// golden vectors produced by go-p2p's own code.
//
// Every line on stdout is one JSON object (see README.md, "JSON lines"). Logs from go-p2p
// go to stderr. The program exits 0 after SIGTERM, SIGINT or (unless -watch-stdin=false)
// the end of its standard input.
package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

type options struct {
	mode       string
	seedHex    string
	listen     string
	peer       string
	count      int
	expect     int
	message    string
	payloadHex string
	prefix     string
	timeout    time.Duration
	interval   time.Duration
	watchStdin bool
	outDir     string
	presigFile string
}

func main() {
	var o options
	flag.StringVar(&o.mode, "mode", "echo", "echo | send | keyinfo | vectors")
	flag.StringVar(&o.seedHex, "seed", "", "Ed25519 private key seed, 32 bytes as 64 hex digits (required for echo, send, keyinfo)")
	flag.StringVar(&o.listen, "listen", "127.0.0.1:0", "UDP address to bind (ip:port; port 0 picks one)")
	flag.StringVar(&o.peer, "peer", "", "send: p2pkeswarm address of the peer, <PeerID>@<ip>:<port>")
	flag.IntVar(&o.count, "count", 1, "send: number of tells")
	flag.IntVar(&o.expect, "expect", -1, "send: number of received messages to wait for (default: -count)")
	flag.StringVar(&o.message, "message", "hello", "send: payload of tell i is \"<message>-<i>\" (unless -payload-hex)")
	flag.StringVar(&o.payloadHex, "payload-hex", "", "send: exact payload of every tell, as hex")
	flag.StringVar(&o.prefix, "prefix", "echo:", "echo: bytes put before every payload told back")
	flag.DurationVar(&o.timeout, "timeout", 20*time.Second, "send: give up after this long")
	flag.DurationVar(&o.interval, "interval", 0, "send: pause between tells")
	flag.BoolVar(&o.watchStdin, "watch-stdin", true, "exit when standard input reaches end of file")
	flag.StringVar(&o.outDir, "out", "", "vectors: directory to write the JSON files into")
	flag.StringVar(&o.presigFile, "presig-fixture", "", "vectors: p2pke-presig-derived.json to check against Go")
	flag.Parse()

	if err := run(o); err != nil {
		emit(map[string]any{"event": "error", "error": err.Error()})
		fmt.Fprintln(os.Stderr, "interop:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	switch o.mode {
	case "vectors":
		if o.outDir == "" {
			return fmt.Errorf("-out is required for -mode vectors")
		}
		return writeVectors(o.outDir, o.presigFile)
	case "keyinfo", "echo", "send":
	default:
		return fmt.Errorf("unknown -mode %q", o.mode)
	}
	seed, err := parseSeed(o.seedHex)
	if err != nil {
		return err
	}
	if o.mode == "keyinfo" {
		emit(keyInfo(seed))
		return nil
	}
	ctx, stop := stopContext(o.watchStdin)
	defer stop()
	if o.mode == "echo" {
		return runEcho(ctx, seed, o)
	}
	return runSend(ctx, seed, o)
}

func parseSeed(s string) ([]byte, error) {
	seed, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("-seed: %w", err)
	}
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("-seed: want %d bytes, got %d", ed25519.SeedSize, len(seed))
	}
	return seed, nil
}

// stopContext is cancelled on SIGTERM, SIGINT, or the end of stdin when watchStdin is set.
func stopContext(watchStdin bool) (context.Context, context.CancelFunc) {
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	if watchStdin {
		go func() {
			_, _ = io.Copy(io.Discard, bufio.NewReader(os.Stdin))
			cancel()
		}()
	}
	return ctx, cancel
}
