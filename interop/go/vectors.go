package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/brendoncarroll/go-p2p"
	"github.com/brendoncarroll/go-p2p/f/x509"
	"github.com/brendoncarroll/go-p2p/p/p2pke"
	"github.com/brendoncarroll/go-p2p/s/p2pkeswarm"
	"github.com/brendoncarroll/go-p2p/s/udpswarm"
	"github.com/brendoncarroll/go-tai64"
	"go.uber.org/zap"
	"golang.org/x/crypto/blake2b"
	"google.golang.org/protobuf/proto"
)

// goP2PVersion must match go.mod; vectors record where they came from.
const (
	goP2PModule  = "github.com/brendoncarroll/go-p2p"
	goP2PVersion = "v0.0.0-20230318184050-1b4145c902cf"
	goP2PCommit  = "1b4145c902cf2753bd8629b44a19876e129a2223"

	purposeTimestamp      = "p2pke/timestamp"
	purposeChannelBinding = "p2pke/channel-binding"
)

type source struct {
	Module  string `json:"module"`
	Version string `json:"version"`
	Commit  string `json:"commit"`
	Program string `json:"program"`
}

var vectorSource = source{
	Module:  goP2PModule,
	Version: goP2PVersion,
	Commit:  goP2PCommit,
	Program: "interop/go (swarmwire), -mode vectors; regenerate with interop/run.sh vectors",
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func hx(b []byte) string { return hex.EncodeToString(b) }

// Well-known seeds: RFC 8032 section 7.1 TEST 1 and TEST 2, and 00 01 .. 1f.
var namedSeeds = []struct{ name, seed string }{
	{"rfc8032-test1", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"},
	{"rfc8032-test2", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"},
	{"counting", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"},
}

func writeVectors(dir, presigFixture string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	keys, err := keyVectors()
	if err != nil {
		return err
	}
	presig, err := presigVectors()
	if err != nil {
		return err
	}
	hs, err := handshakeVectors()
	if err != nil {
		return err
	}
	for name, v := range map[string]any{"keys.json": keys, "presig.json": presig, "handshake.json": hs} {
		data, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name), append(data, '\n'), 0o644); err != nil {
			return err
		}
	}
	emit(map[string]any{"event": "vectors", "dir": dir, "files": []string{"handshake.json", "keys.json", "presig.json"}})
	if presigFixture != "" {
		return checkPresigFixture(presigFixture, presig)
	}
	return nil
}

// ---------------------------------------------------------------------------------------
// keys.json

type addrExample struct {
	Inner      string `json:"inner"`
	Text       string `json:"text"`
	GoParsesIt bool   `json:"go_parses_it"`
	Note       string `json:"note,omitempty"`
}

type keyVector struct {
	Name              string        `json:"name"`
	SeedHex           string        `json:"seed_hex"`
	PublicKeyHex      string        `json:"public_key_hex"`
	SPKIDerHex        string        `json:"public_key_x509_hex"`
	PrivateKeyX509Hex string        `json:"private_key_x509_hex"`
	PeerIDHex         string        `json:"peer_id_hex"`
	PeerID            string        `json:"peer_id"`
	Addrs             []addrExample `json:"addr_examples"`
}

type peerIDText struct {
	Hex  string `json:"hex"`
	Text string `json:"text"`
}

type lenientParse struct {
	Text       string `json:"text"`
	GoAccepts  bool   `json:"go_accepts"`
	DecodesHex string `json:"go_decodes_to_hex,omitempty"`
	Note       string `json:"note"`
}

type keysFile struct {
	Description string         `json:"description"`
	Source      source         `json:"source"`
	Keys        []keyVector    `json:"keys"`
	PeerIDTexts []peerIDText   `json:"peer_id_texts"`
	Lenient     []lenientParse `json:"go_peer_id_parse_leniency"`
}

func keyVectors() (*keysFile, error) {
	f := &keysFile{
		Description: "Ed25519 keys in go-p2p's encodings, PeerIDs and p2pkeswarm address texts, all computed by go-p2p's code. " +
			"public_key_x509 = f/x509.MarshalPublicKey (SubjectPublicKeyInfo DER, OID 1.3.101.112, no parameters); " +
			"private_key_x509 = f/x509.MarshalPrivateKey (NOT PKCS#8: SEQUENCE{AlgorithmIdentifier, BIT STRING(32-byte seed)}); " +
			"peer_id = SHAKE256-256(public_key_x509) (s/p2pkeswarm.DefaultFingerprinter), text = unpadded base64 with the alphabet -0-9A-Z_a-z.",
		Source: vectorSource,
	}
	for _, ns := range namedSeeds {
		seed := mustHex(ns.seed)
		priv := privateKey(seed)
		pub := publicKey(seed)
		// The public key the way go-p2p derives it from the private key.
		reg := x509.DefaultRegistry()
		pub2, err := reg.PublicFromPrivate(&priv)
		if err != nil {
			return nil, err
		}
		if !x509.EqualPublicKeys(&pub, &pub2) {
			return nil, errors.New("keys: go-p2p derives a different public key")
		}
		spki := x509.MarshalPublicKey(nil, &pub)
		parsed, err := x509.ParsePublicKey(spki)
		if err != nil || !x509.EqualPublicKeys(&parsed, &pub) {
			return nil, fmt.Errorf("keys: SPKI does not round-trip: %v", err)
		}
		id := p2pkeswarm.DefaultFingerprinter(&pub)
		kv := keyVector{
			Name:              ns.name,
			SeedHex:           ns.seed,
			PublicKeyHex:      hx(pub.Data),
			SPKIDerHex:        hx(spki),
			PrivateKeyX509Hex: hx(x509.MarshalPrivateKey(nil, &priv)),
			PeerIDHex:         hx(id[:]),
			PeerID:            id.String(),
		}
		for _, inner := range []struct{ ip, note string }{
			{"127.0.0.1", ""},
			{"::1", "go-p2p's udpswarm.Addr.String() prints IPv6 without brackets, so Go cannot parse its own IPv6 address text"},
			{"::ffff:127.0.0.1", "an IPv4 peer seen through a dual-stack (IPv6) Go socket: printed as an IPv4-mapped IPv6 address, unbracketed"},
		} {
			ua := udpswarm.Addr{IP: netip.MustParseAddr(inner.ip), Port: 5000}
			a := p2pkeswarm.Addr[udpswarm.Addr]{ID: id, Addr: ua}
			text := a.String()
			back, err := p2pkeswarm.ParseAddr[udpswarm.Addr](udpswarm.ParseAddr, []byte(text))
			kv.Addrs = append(kv.Addrs, addrExample{
				Inner:      ua.String(),
				Text:       text,
				GoParsesIt: err == nil && back == a,
				Note:       inner.note,
			})
		}
		f.Keys = append(f.Keys, kv)
	}
	for _, h := range []string{
		"0000000000000000000000000000000000000000000000000000000000000000",
		"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
	} {
		var id p2p.PeerID
		copy(id[:], mustHex(h))
		var back p2p.PeerID
		if err := back.UnmarshalText([]byte(id.String())); err != nil || back != id {
			return nil, fmt.Errorf("keys: PeerID text does not round-trip: %v", err)
		}
		f.PeerIDTexts = append(f.PeerIDTexts, peerIDText{Hex: h, Text: id.String()})
	}
	// go-p2p's PeerID.UnmarshalText ignores the base64 decoder's error: it checks only the
	// length (43). A TypeScript parser should be strict; these show what Go lets through.
	for _, c := range []struct{ text, note string }{
		{strings.Repeat("-", 42) + "z", "non-canonical last character: 43 characters carry 258 bits, so the low 2 bits of the last one must be zero"},
		{strings.Repeat("!", 43), "characters outside the alphabet"},
	} {
		var id p2p.PeerID
		err := id.UnmarshalText([]byte(c.text))
		lp := lenientParse{Text: c.text, GoAccepts: err == nil, Note: c.note}
		if err == nil {
			lp.DecodesHex = hx(id[:])
		}
		f.Lenient = append(f.Lenient, lp)
	}
	return f, nil
}

// ---------------------------------------------------------------------------------------
// presig.json

type presigCase struct {
	Purpose      string `json:"purpose"`
	MessageHex   string `json:"message"`
	XOFInputHex  string `json:"xof_input"`
	PresigHex    string `json:"presig_blake2xb_64"`
	SignatureHex string `json:"ed25519_signature_over_presig"`
}

type presigFile struct {
	Description string       `json:"description"`
	Source      source       `json:"source"`
	SigningKey  keyVector    `json:"signing_key"`
	Cases       []presigCase `json:"cases"`
}

// The inputs of fixtures/p2pke-presig-derived.json, so the two files can be compared.
var presigInputs = []struct{ purpose, msg string }{
	{purposeChannelBinding, ""},
	{purposeChannelBinding, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"},
	{purposeChannelBinding, "986be59683163a598996c62addf35133b0c5b4a16daaa15db485ad26a480f6bacb47f01ec5f881dc04703bc48626f8feb78ae2815206f4396c49ed576e084716"},
	{purposeChannelBinding, "00aea965a594742a749408e338ee4479dabbe6b8e9e9cac5743bc56b0f58c3bf19376c36ae0d0dccb96f0fe55b850dc36369456ac733946c1ed44c867a6eec9d"},
	{purposeTimestamp, "400000006592008000000000"},
}

func presigVectors() (*presigFile, error) {
	seed := mustHex(namedSeeds[0].seed)
	priv := privateKey(seed)
	signer, err := x509.DefaultRegistry().LoadSigner(&priv)
	if err != nil {
		return nil, err
	}
	keys, err := keyVectors()
	if err != nil {
		return nil, err
	}
	kv := keys.Keys[0]
	kv.Addrs = nil
	f := &presigFile{
		Description: "go-p2p P2PKE signatures: sig = Ed25519(key, BLAKE2Xb(out=64, no key)(u8(len(purpose)) || purpose || msg)). " +
			"The pre-hash is computed with golang.org/x/crypto/blake2b.NewXOF exactly as p/p2pke/session.go createPreSig does " +
			"(and checked against the signatures go-p2p's own Session makes, see handshake.json); the signature is made through " +
			"go-p2p's f/x509 registry signer. Same inputs as fixtures/p2pke-presig-derived.json.",
		Source:     vectorSource,
		SigningKey: kv,
	}
	for _, in := range presigInputs {
		msg := mustHex(in.msg)
		pre := createPreSig(in.purpose, msg)
		sig, err := signer.Sign(nil, pre)
		if err != nil {
			return nil, err
		}
		xin := append([]byte{byte(len(in.purpose))}, in.purpose...)
		xin = append(xin, msg...)
		f.Cases = append(f.Cases, presigCase{
			Purpose: in.purpose, MessageHex: in.msg, XOFInputHex: hx(xin),
			PresigHex: hx(pre), SignatureHex: hx(sig),
		})
	}
	return f, nil
}

func checkPresigFixture(path string, got *presigFile) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var want struct {
		SigningKey struct {
			Seed string `json:"ed25519_secret_seed"`
			SPKI string `json:"key_x509_spki_der"`
		} `json:"signing_key"`
		Cases []presigCase `json:"cases"`
	}
	if err := json.Unmarshal(data, &want); err != nil {
		return err
	}
	var problems []string
	if want.SigningKey.Seed != got.SigningKey.SeedHex {
		problems = append(problems, "signing key seed differs")
	}
	if want.SigningKey.SPKI != got.SigningKey.SPKIDerHex {
		problems = append(problems, "key_x509_spki_der differs")
	}
	if len(want.Cases) != len(got.Cases) {
		problems = append(problems, fmt.Sprintf("%d cases in the fixture, %d here", len(want.Cases), len(got.Cases)))
	}
	for i := 0; i < len(want.Cases) && i < len(got.Cases); i++ {
		w, g := want.Cases[i], got.Cases[i]
		if w.Purpose != g.Purpose || w.MessageHex != g.MessageHex {
			problems = append(problems, fmt.Sprintf("case %d: different input", i))
			continue
		}
		if w.XOFInputHex != g.XOFInputHex {
			problems = append(problems, fmt.Sprintf("case %d: xof_input differs", i))
		}
		if w.PresigHex != g.PresigHex {
			problems = append(problems, fmt.Sprintf("case %d: presig differs", i))
		}
		if w.SignatureHex != g.SignatureHex {
			problems = append(problems, fmt.Sprintf("case %d: signature differs", i))
		}
	}
	emit(map[string]any{"event": "presig_fixture_check", "file": path, "cases": len(want.Cases), "ok": len(problems) == 0, "problems": problems})
	if len(problems) > 0 {
		return fmt.Errorf("presig fixture %s disagrees with go-p2p: %v", path, problems)
	}
	return nil
}

// ---------------------------------------------------------------------------------------
// handshake.json

// queueReader hands out fixed chunks; it stands in for crypto/rand while go-p2p's Sessions
// generate their ephemeral keys (flynn/noise reads rand.Reader when a HandshakeState is made).
type queueReader struct{ chunks [][]byte }

func (q *queueReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(q.chunks) == 0 {
			return n, errors.New("vectors: unexpected read of randomness")
		}
		c := copy(p[n:], q.chunks[0])
		n += c
		q.chunks[0] = q.chunks[0][c:]
		if len(q.chunks[0]) == 0 {
			q.chunks = q.chunks[1:]
		}
	}
	return n, nil
}

type party struct {
	Role               string `json:"role"`
	SeedHex            string `json:"seed_hex"`
	PublicKeyHex       string `json:"public_key_hex"`
	KeyX509Hex         string `json:"public_key_x509_hex"`
	PeerID             string `json:"peer_id"`
	EphemeralPrivHex   string `json:"ephemeral_private_hex"`
	EphemeralPublicHex string `json:"ephemeral_public_hex"`
}

type signedValue struct {
	Purpose   string `json:"purpose"`
	SignedHex string `json:"signed_message"`
	PresigHex string `json:"presig_blake2xb_64"`
	SigHex    string `json:"sig"`
	Signer    string `json:"signer"`
}

type wireMessage struct {
	Name         string         `json:"name"`
	Direction    string         `json:"direction"`
	Counter      uint32         `json:"counter"`
	Hex          string         `json:"hex"`
	HeaderHex    string         `json:"header_hex"`
	BodyHex      string         `json:"body_hex"`
	Layout       string         `json:"layout"`
	EphemeralHex string         `json:"noise_ephemeral_public_hex,omitempty"`
	NoisePayload string         `json:"noise_payload_hex,omitempty"`
	AEADKeyHex   string         `json:"aead_key_hex,omitempty"`
	AEADNonceHex string         `json:"aead_nonce_hex,omitempty"`
	AEADADHex    string         `json:"aead_ad_hex,omitempty"`
	PlaintextHex *string        `json:"plaintext_hex,omitempty"`
	ProtobufHex  string         `json:"protobuf_hex,omitempty"`
	TrailerHex   string         `json:"length_trailer_hex,omitempty"`
	Fields       map[string]any `json:"protobuf_fields,omitempty"`
	Signature    *signedValue   `json:"signature,omitempty"`
	SessionIDHex string         `json:"session_id_blake2b256_hex,omitempty"`
}

type handshakeFile struct {
	Description   string            `json:"description"`
	Source        source            `json:"source"`
	Protocol      string            `json:"noise_protocol"`
	PrologueHex   string            `json:"prologue_hex"`
	Time          map[string]any    `json:"time"`
	Initiator     party             `json:"initiator"`
	Responder     party             `json:"responder"`
	Messages      []wireMessage     `json:"messages"`
	Noise         map[string]string `json:"noise_intermediates"`
	Deterministic string            `json:"deterministic"`
}

func strp(s string) *string { return &s }

func handshakeVectors() (*handshakeFile, error) {
	seedI := mustHex(namedSeeds[0].seed)
	seedR := mustHex(namedSeeds[1].seed)
	// Ephemeral X25519 private keys; arbitrary fixed bytes (go-p2p uses them as given; X25519 clamps).
	eI := mustHex("a8abababababababababababababababababababababababababababababab6b")
	eR := mustHex("c8cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd4d")
	now := time.Date(2024, 1, 2, 3, 4, 5, 678901234, time.UTC)
	reg := x509.DefaultRegistry()
	newSession := func(seed []byte, isInit bool) *p2pke.Session {
		return p2pke.NewSession(p2pke.SessionConfig{
			Registry:    reg,
			PrivateKey:  privateKey(seed),
			IsInit:      isInit,
			Now:         now,
			RejectAfter: p2pke.RejectAfterTime,
			Logger:      zap.NewNop(),
		})
	}

	// Run go-p2p's Sessions with crypto/rand replaced by the two fixed ephemeral keys.
	q := &queueReader{chunks: [][]byte{append([]byte(nil), eI...), append([]byte(nil), eR...)}}
	saved := rand.Reader
	rand.Reader = q
	init := newSession(seedI, true)
	resp := newSession(seedR, false)
	m0 := init.Handshake(nil)
	_, m1, err := resp.Deliver(nil, m0, now)
	rand.Reader = saved
	if err != nil {
		return nil, fmt.Errorf("responder on InitHello: %w", err)
	}
	if len(q.chunks) != 0 {
		return nil, errors.New("go-p2p did not read both ephemeral keys from rand.Reader")
	}
	_, m2, err := init.Deliver(nil, m1, now)
	if err != nil {
		return nil, fmt.Errorf("initiator on RespHello: %w", err)
	}
	_, m3, err := resp.Deliver(nil, m2, now)
	if err != nil {
		return nil, fmt.Errorf("responder on InitDone: %w", err)
	}
	if _, m4, err := init.Deliver(nil, m3, now); err != nil || len(m4) != 0 {
		return nil, fmt.Errorf("initiator on RespDone: %v (reply %x)", err, m4)
	}
	if !init.IsReady() || !resp.IsReady() {
		return nil, errors.New("sessions not ready after four messages")
	}
	ptI := []byte("hello from the initiator")
	ptR := []byte("hello from the responder")
	d0, err := init.Send(nil, ptI, now)
	if err != nil {
		return nil, err
	}
	d1, err := resp.Send(nil, ptR, now)
	if err != nil {
		return nil, err
	}
	if isApp, got, err := resp.Deliver(nil, d0, now); err != nil || !isApp || !bytes.Equal(got, ptI) {
		return nil, fmt.Errorf("responder on data: %v %v %q", err, isApp, got)
	}
	if isApp, got, err := init.Deliver(nil, d1, now); err != nil || !isApp || !bytes.Equal(got, ptR) {
		return nil, fmt.Errorf("initiator on data: %v %v %q", err, isApp, got)
	}
	// A replayed data message is dropped (no error, no data).
	if isApp, got, err := resp.Deliver(nil, d0, now); err != nil || isApp || got != nil {
		return nil, fmt.Errorf("replay was not dropped: %v %v %x", err, isApp, got)
	}

	// Parse InitHello: body = e(32) || protobuf || u16be(len(protobuf)).
	body0 := m0[4:]
	payload0 := body0[32:]
	pbLen := int(binary.BigEndian.Uint16(payload0[len(payload0)-2:]))
	if pbLen != len(payload0)-2 {
		return nil, fmt.Errorf("InitHello: trailer says %d, protobuf is %d bytes", pbLen, len(payload0)-2)
	}
	pb0 := payload0[:pbLen]
	var ih p2pke.InitHello
	if err := proto.Unmarshal(pb0, &ih); err != nil {
		return nil, err
	}
	// Replay the handshake independently; everything must match go-p2p's bytes.
	// RespHello's plaintext is recovered by decrypting with the key this replay derives.
	probe := runNN(eI, eR, payload0, nil)
	pb1, err := open(probe.KMsg1, 0, probe.HAfterE1, m1[4+32:])
	if err != nil {
		return nil, fmt.Errorf("replay cannot open RespHello: %w", err)
	}
	tr := runNN(eI, eR, payload0, pb1)
	if !bytes.Equal(tr.Msg0, body0) || !bytes.Equal(tr.Msg1, m1[4:]) {
		return nil, errors.New("independent Noise replay disagrees with go-p2p's handshake messages")
	}
	var rh p2pke.RespHello
	if err := proto.Unmarshal(pb1, &rh); err != nil {
		return nil, err
	}
	pb2, err := open(tr.KInitToResp, 2, m2[:4], m2[4:])
	if err != nil {
		return nil, fmt.Errorf("replay cannot open InitDone: %w", err)
	}
	var idn p2pke.InitDone
	if err := proto.Unmarshal(pb2, &idn); err != nil {
		return nil, err
	}
	if got := seal(tr.KRespToInit, 3, m3[:4], nil); !bytes.Equal(got, m3[4:]) {
		return nil, errors.New("replay disagrees on RespDone")
	}
	if got := seal(tr.KInitToResp, 16, d0[:4], ptI); !bytes.Equal(got, d0[4:]) {
		return nil, errors.New("replay disagrees on the initiator's data message")
	}
	if got := seal(tr.KRespToInit, 16, d1[:4], ptR); !bytes.Equal(got, d1[4:]) {
		return nil, errors.New("replay disagrees on the responder's data message")
	}

	pubI, pubR := publicKey(seedI), publicKey(seedR)
	ts := tai64.FromGoTime(now).Marshal()
	if !bytes.Equal(ih.TimestampTai64N, ts) || ih.Version != 1 {
		return nil, errors.New("InitHello timestamp/version not as expected")
	}
	// The signatures go-p2p made must verify with createPreSig: this ties createPreSig (and
	// so presig.json) to go-p2p's code.
	sigs := []struct {
		purpose string
		msg     []byte
		sig     []byte
		pub     x509.PublicKey
		keyX509 []byte
	}{
		{purposeTimestamp, ts, ih.Sig, pubI, ih.KeyX509},
		{purposeChannelBinding, tr.HAfterMsg0, rh.Sig, pubR, rh.KeyX509},
		{purposeChannelBinding, tr.HFinal, idn.Sig, pubI, nil},
	}
	for i, s := range sigs {
		if !ed25519.Verify(ed25519.PublicKey(s.pub.Data), createPreSig(s.purpose, s.msg), s.sig) {
			return nil, fmt.Errorf("signature %d made by go-p2p does not verify with createPreSig", i)
		}
		if s.keyX509 != nil && !bytes.Equal(s.keyX509, x509.MarshalPublicKey(nil, &s.pub)) {
			return nil, fmt.Errorf("key_x509 %d is not the SPKI of the signer", i)
		}
	}
	if !bytes.Equal(init.RemoteKey().Data, pubR.Data) || !bytes.Equal(resp.RemoteKey().Data, pubI.Data) {
		return nil, errors.New("sessions learned the wrong remote keys")
	}

	idI, idR := p2pkeswarm.DefaultFingerprinter(&pubI), p2pkeswarm.DefaultFingerprinter(&pubR)
	sid := blake2b.Sum256(m0)
	hdr := func(m []byte) string { return hx(m[:4]) }
	sv := func(purpose string, msg, sig []byte, signer string) *signedValue {
		return &signedValue{Purpose: purpose, SignedHex: hx(msg), PresigHex: hx(createPreSig(purpose, msg)), SigHex: hx(sig), Signer: signer}
	}
	f := &handshakeFile{
		Description: "One complete P2PKE v1 handshake and one data message each way, made by go-p2p's p2pke.Session " +
			"(initiator key = RFC 8032 TEST 1, responder key = TEST 2), with crypto/rand replaced by the two ephemeral keys below " +
			"and the clock fixed, so the bytes are reproducible. Every message was also recomputed by an independent Noise " +
			"implementation (interop/go/noise.go) and matched byte for byte; every signature verifies with createPreSig. " +
			"Directions: i2r = initiator to responder, r2i = responder to initiator.",
		Source:      vectorSource,
		Protocol:    noiseProtocolName,
		PrologueHex: "",
		Time: map[string]any{
			"utc":             now.Format(time.RFC3339Nano),
			"unix_nanos":      fmt.Sprint(now.UnixNano()),
			"tai64n_hex":      hx(ts),
			"tai64n_seconds":  fmt.Sprint(binary.BigEndian.Uint64(ts[:8])),
			"tai64n_nanos":    binary.BigEndian.Uint32(ts[8:]),
			"leap_seconds":    binary.BigEndian.Uint64(ts[:8]) - (1 << 62) - uint64(now.Unix()),
			"tai64n_encoding": "go-tai64 FromGoTime: 8-byte BE (2^62 + unix_seconds + TAI-UTC leap offset, 37 since 2017) then 4-byte BE nanoseconds",
		},
		Initiator: party{Role: "initiator", SeedHex: namedSeeds[0].seed, PublicKeyHex: hx(pubI.Data),
			KeyX509Hex: hx(x509.MarshalPublicKey(nil, &pubI)), PeerID: idI.String(),
			EphemeralPrivHex: hx(eI), EphemeralPublicHex: hx(x25519Public(eI))},
		Responder: party{Role: "responder", SeedHex: namedSeeds[1].seed, PublicKeyHex: hx(pubR.Data),
			KeyX509Hex: hx(x509.MarshalPublicKey(nil, &pubR)), PeerID: idR.String(),
			EphemeralPrivHex: hx(eR), EphemeralPublicHex: hx(x25519Public(eR))},
		Messages: []wireMessage{
			{
				Name: "InitHello", Direction: "i2r", Counter: 0, Hex: hx(m0), HeaderHex: hdr(m0), BodyHex: hx(body0),
				Layout:       "u32be(0) || e_i.pub(32) || InitHello protobuf || u16be(len(protobuf)); the Noise payload is in the clear (no key yet)",
				EphemeralHex: hx(body0[:32]), NoisePayload: hx(payload0), ProtobufHex: hx(pb0), TrailerHex: hx(payload0[pbLen:]),
				Fields:       map[string]any{"version": ih.Version, "timestamp_tai64n": hx(ih.TimestampTai64N), "key_x509": hx(ih.KeyX509), "sig": hx(ih.Sig)},
				Signature:    sv(purposeTimestamp, ts, ih.Sig, "initiator"),
				SessionIDHex: hx(sid[:]),
			},
			{
				Name: "RespHello", Direction: "r2i", Counter: 1, Hex: hx(m1), HeaderHex: hdr(m1), BodyHex: hx(m1[4:]),
				Layout:       "u32be(1) || e_r.pub(32) || ChaChaPoly(k, n=0, ad=h, RespHello protobuf); the 4-byte header is not authenticated by Noise here",
				EphemeralHex: hx(m1[4:36]), NoisePayload: hx(pb1), AEADKeyHex: hx(tr.KMsg1), AEADNonceHex: hx(noiseNonce(0)), AEADADHex: hx(tr.HAfterE1),
				ProtobufHex: hx(pb1),
				Fields:      map[string]any{"key_x509": hx(rh.KeyX509), "sig": hx(rh.Sig)},
				Signature:   sv(purposeChannelBinding, tr.HAfterMsg0, rh.Sig, "responder"),
			},
			{
				Name: "InitDone", Direction: "i2r", Counter: 2, Hex: hx(m2), HeaderHex: hdr(m2), BodyHex: hx(m2[4:]),
				Layout:     "u32be(2) || ChaChaPoly(k_i2r, n=2, ad=header, InitDone protobuf)",
				AEADKeyHex: hx(tr.KInitToResp), AEADNonceHex: hx(noiseNonce(2)), AEADADHex: hdr(m2),
				PlaintextHex: strp(hx(pb2)), ProtobufHex: hx(pb2),
				Fields:    map[string]any{"sig": hx(idn.Sig)},
				Signature: sv(purposeChannelBinding, tr.HFinal, idn.Sig, "initiator"),
			},
			{
				Name: "RespDone", Direction: "r2i", Counter: 3, Hex: hx(m3), HeaderHex: hdr(m3), BodyHex: hx(m3[4:]),
				Layout:     "u32be(3) || ChaChaPoly(k_r2i, n=3, ad=header, empty)",
				AEADKeyHex: hx(tr.KRespToInit), AEADNonceHex: hx(noiseNonce(3)), AEADADHex: hdr(m3),
				PlaintextHex: strp(""),
			},
			{
				Name: "Data", Direction: "i2r", Counter: binary.BigEndian.Uint32(d0[:4]), Hex: hx(d0), HeaderHex: hdr(d0), BodyHex: hx(d0[4:]),
				Layout:     "u32be(n) || ChaChaPoly(k_i2r, n, ad=header, data); the first data counter of a session is 16",
				AEADKeyHex: hx(tr.KInitToResp), AEADNonceHex: hx(noiseNonce(16)), AEADADHex: hdr(d0),
				PlaintextHex: strp(hx(ptI)),
			},
			{
				Name: "Data", Direction: "r2i", Counter: binary.BigEndian.Uint32(d1[:4]), Hex: hx(d1), HeaderHex: hdr(d1), BodyHex: hx(d1[4:]),
				Layout:     "u32be(n) || ChaChaPoly(k_r2i, n, ad=header, data)",
				AEADKeyHex: hx(tr.KRespToInit), AEADNonceHex: hx(noiseNonce(16)), AEADADHex: hdr(d1),
				PlaintextHex: strp(hx(ptR)),
			},
		},
		Noise: map[string]string{
			"h_init":                              hx(tr.HInit),
			"h_after_prologue":                    hx(tr.HAfterPrologue),
			"h_after_e_i":                         hx(tr.HAfterE0),
			"h_after_init_hello":                  hx(tr.HAfterMsg0),
			"h_after_e_r":                         hx(tr.HAfterE1),
			"dh_ee":                               hx(tr.DHEE),
			"ck_after_ee":                         hx(tr.CKAfterEE),
			"k_resp_hello":                        hx(tr.KMsg1),
			"h_final":                             hx(tr.HFinal),
			"k_i2r":                               hx(tr.KInitToResp),
			"k_r2i":                               hx(tr.KRespToInit),
			"channel_binding_signed_by_responder": "h_after_init_hello",
			"channel_binding_signed_by_initiator": "h_final",
		},
		Deterministic: "yes: interop/run.sh regenerates this file and fails if it differs",
	}
	return f, nil
}

var _ io.Reader = (*queueReader)(nil)
