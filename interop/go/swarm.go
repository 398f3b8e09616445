package main

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/brendoncarroll/go-p2p"
	"github.com/brendoncarroll/go-p2p/f/x509"
	"github.com/brendoncarroll/go-p2p/s/p2pkeswarm"
	"github.com/brendoncarroll/go-p2p/s/udpswarm"
)

type (
	addr  = p2pkeswarm.Addr[udpswarm.Addr]
	swarm = p2pkeswarm.Swarm[udpswarm.Addr]
)

var stdoutMu sync.Mutex

// emit writes v as one JSON line to stdout. Map keys come out sorted.
func emit(v any) {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	stdoutMu.Lock()
	defer stdoutMu.Unlock()
	_, _ = os.Stdout.Write(append(data, '\n'))
}

func privateKey(seed []byte) x509.PrivateKey {
	return x509.PrivateKey{Algorithm: x509.Algo_Ed25519, Data: append([]byte(nil), seed...)}
}

func publicKey(seed []byte) x509.PublicKey {
	pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	return x509.PublicKey{Algorithm: x509.Algo_Ed25519, Data: []byte(pub)}
}

func keyInfo(seed []byte) map[string]any {
	priv := privateKey(seed)
	pub := publicKey(seed)
	id := p2pkeswarm.DefaultFingerprinter(&pub)
	return map[string]any{
		"event":                "key",
		"seed_hex":             hex.EncodeToString(seed),
		"public_key_hex":       hex.EncodeToString(pub.Data),
		"public_key_spki_hex":  hex.EncodeToString(x509.MarshalPublicKey(nil, &pub)),
		"private_key_x509_hex": hex.EncodeToString(x509.MarshalPrivateKey(nil, &priv)),
		"peer_id_hex":          hex.EncodeToString(id[:]),
		"peer_id":              id.String(),
	}
}

func newSwarm(seed []byte, listen string) (*swarm, error) {
	u, err := udpswarm.New(listen)
	if err != nil {
		return nil, err
	}
	return p2pkeswarm.New[udpswarm.Addr](u, privateKey(seed)), nil
}

func emitReady(ctx context.Context, s *swarm, mode string) {
	addrs := s.LocalAddrs()
	texts := make([]string, len(addrs))
	for i, a := range addrs {
		texts[i] = a.String()
	}
	pub := s.PublicKey()
	id := p2pkeswarm.DefaultFingerprinter(&pub)
	ev := map[string]any{
		"event":               "ready",
		"mode":                mode,
		"peer_id":             id.String(),
		"peer_id_hex":         hex.EncodeToString(id[:]),
		"public_key_spki_hex": hex.EncodeToString(x509.MarshalPublicKey(nil, &pub)),
		"addrs":               texts,
		"pid":                 os.Getpid(),
	}
	if len(addrs) > 0 {
		ev["addr"] = texts[0]
		ev["mtu"] = s.MTU(ctx, addrs[0])
	}
	emit(ev)
}

func recvEvent(m p2p.Message[addr]) map[string]any {
	return map[string]any{
		"event":        "recv",
		"src":          m.Src.String(),
		"src_peer_id":  m.Src.ID.String(),
		"dst":          m.Dst.String(),
		"payload_hex":  hex.EncodeToString(m.Payload),
		"payload_size": len(m.Payload),
	}
}

// receiveOne takes one message from s and copies it out of go-p2p's buffer.
func receiveOne(ctx context.Context, s *swarm) (p2p.Message[addr], error) {
	var out p2p.Message[addr]
	err := s.Receive(ctx, func(m p2p.Message[addr]) {
		out = p2p.Message[addr]{Src: m.Src, Dst: m.Dst, Payload: append([]byte(nil), m.Payload...)}
	})
	return out, err
}

// runEcho tells every received message back to its sender, prefixed, until ctx ends.
func runEcho(ctx context.Context, seed []byte, o options) error {
	s, err := newSwarm(seed, o.listen)
	if err != nil {
		return err
	}
	emitReady(ctx, s, "echo")

	// Replies go through one worker so that a tell that has to wait for a handshake does not
	// stop the receive loop, and replies leave in the order the messages came in.
	replies := make(chan p2p.Message[addr], 1024)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for m := range replies {
			tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			payload := append([]byte(o.prefix), m.Payload...)
			err := s.Tell(tctx, m.Src, p2p.IOVec{payload})
			cancel()
			if err != nil {
				emit(map[string]any{"event": "tell_error", "dst": m.Src.String(), "error": err.Error()})
				continue
			}
			emit(map[string]any{"event": "sent", "dst": m.Src.String(), "payload_hex": hex.EncodeToString(payload)})
		}
	}()

	var loopErr error
	received := 0
	for {
		m, err := receiveOne(ctx, s)
		if err != nil {
			if ctx.Err() == nil {
				loopErr = err
			}
			break
		}
		received++
		emit(recvEvent(m))
		select {
		case replies <- m:
		default:
			emit(map[string]any{"event": "dropped", "src": m.Src.String(), "reason": "reply queue full"})
		}
	}
	close(replies)
	closeErr := s.Close()
	wg.Wait()
	emit(map[string]any{"event": "closed", "received": received})
	if loopErr != nil {
		return loopErr
	}
	return ignoreClosed(closeErr)
}

// runSend tells o.count messages to o.peer and waits for o.expect messages to come back.
func runSend(ctx context.Context, seed []byte, o options) error {
	if o.peer == "" {
		return errors.New("-peer is required for -mode send")
	}
	expect := o.expect
	if expect < 0 {
		expect = o.count
	}
	var fixed []byte
	if o.payloadHex != "" {
		var err error
		if fixed, err = hex.DecodeString(o.payloadHex); err != nil {
			return fmt.Errorf("-payload-hex: %w", err)
		}
	}
	s, err := newSwarm(seed, o.listen)
	if err != nil {
		return err
	}
	dst, err := s.ParseAddr([]byte(o.peer))
	if err != nil {
		s.Close()
		return fmt.Errorf("-peer: %w", err)
	}
	emitReady(ctx, s, "send")

	dctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	done := make(chan struct{})
	received := 0
	go func() {
		defer close(done)
		for received < expect {
			m, err := receiveOne(dctx, s)
			if err != nil {
				return
			}
			received++
			emit(recvEvent(m))
		}
	}()

	sent := 0
	var sendErr error
	for i := 0; i < o.count && sendErr == nil; i++ {
		payload := fixed
		if payload == nil {
			payload = []byte(fmt.Sprintf("%s-%d", o.message, i))
		}
		if err := s.Tell(dctx, dst, p2p.IOVec{payload}); err != nil {
			sendErr = fmt.Errorf("tell %d: %w", i, err)
			break
		}
		sent++
		emit(map[string]any{"event": "sent", "dst": dst.String(), "seq": i, "payload_hex": hex.EncodeToString(payload)})
		if o.interval > 0 && i+1 < o.count {
			select {
			case <-time.After(o.interval):
			case <-dctx.Done():
				sendErr = dctx.Err()
			}
		}
	}
	if sendErr == nil {
		<-done
	}
	cancel()
	closeErr := s.Close()
	<-done
	ok := sendErr == nil && received >= expect
	emit(map[string]any{"event": "done", "sent": sent, "received": received, "expected": expect, "ok": ok})
	switch {
	case ok:
	case ctx.Err() != nil:
		return errors.New("stopped (signal or end of stdin) before the exchange completed")
	case sendErr != nil:
		return sendErr
	case !ok:
		return fmt.Errorf("received %d of %d messages before the timeout", received, expect)
	}
	return ignoreClosed(closeErr)
}

func ignoreClosed(err error) error {
	if err == nil || errors.Is(err, p2p.ErrClosed) {
		return nil
	}
	return err
}
