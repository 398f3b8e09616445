package main

// An independent, by-the-book computation of Noise_NN_25519_ChaChaPoly_BLAKE2b (Noise spec
// rev 34, sections 5 and 7), used to expose the intermediate values (h, ck, k, split keys)
// of a handshake that go-p2p performed. writeVectors checks that this computation
// reproduces go-p2p's bytes exactly before it writes anything.

import (
	"crypto/hmac"
	"encoding/binary"
	"hash"

	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/curve25519"
)

const noiseProtocolName = "Noise_NN_25519_ChaChaPoly_BLAKE2b"

func newBlake2b512() hash.Hash {
	h, err := blake2b.New512(nil)
	if err != nil {
		panic(err)
	}
	return h
}

func hashAll(parts ...[]byte) []byte {
	h := newBlake2b512()
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

func hmacBlake2b(key []byte, parts ...[]byte) []byte {
	m := hmac.New(newBlake2b512, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// hkdf2 is Noise's HKDF(chaining_key, input_key_material, 2).
func hkdf2(ck, ikm []byte) (out1, out2 []byte) {
	temp := hmacBlake2b(ck, ikm)
	out1 = hmacBlake2b(temp, []byte{1})
	out2 = hmacBlake2b(temp, out1, []byte{2})
	return out1, out2
}

// noiseNonce is the 96-bit ChaChaPoly nonce for counter n: 4 zero bytes, then n as 64-bit
// little-endian (Noise spec section 12.3).
func noiseNonce(n uint64) []byte {
	var nonce [12]byte
	binary.LittleEndian.PutUint64(nonce[4:], n)
	return nonce[:]
}

func seal(key []byte, n uint64, ad, plaintext []byte) []byte {
	aead, err := chacha20poly1305.New(key)
	if err != nil {
		panic(err)
	}
	return aead.Seal(nil, noiseNonce(n), plaintext, ad)
}

func open(key []byte, n uint64, ad, ciphertext []byte) ([]byte, error) {
	aead, err := chacha20poly1305.New(key)
	if err != nil {
		panic(err)
	}
	return aead.Open(nil, noiseNonce(n), ciphertext, ad)
}

func x25519Public(priv []byte) []byte {
	pub, err := curve25519.X25519(priv, curve25519.Basepoint)
	if err != nil {
		panic(err)
	}
	return pub
}

// nnTrace is every intermediate value of one NN handshake with an empty prologue.
type nnTrace struct {
	HInit          []byte // h after InitializeSymmetric (protocol name zero-padded to 64 bytes)
	HAfterPrologue []byte
	HAfterE0       []byte // after MixHash(e_i.pub)
	HAfterMsg0     []byte // after MixHash(payload0): the value the responder signs
	HAfterE1       []byte // after MixHash(e_r.pub)
	DHEE           []byte
	CKAfterEE      []byte
	KMsg1          []byte // cipher key for the RespHello payload (nonce 0, ad = HAfterE1)
	Msg1Ciphertext []byte
	HFinal         []byte // after MixHash(ciphertext1): the value the initiator signs
	KInitToResp    []byte // first 32 bytes of Split() output 1
	KRespToInit    []byte // first 32 bytes of Split() output 2
	Msg0           []byte // noise message 0 = e_i.pub || payload0
	Msg1           []byte // noise message 1 = e_r.pub || ciphertext1
}

// runNN computes the NN handshake for given ephemeral private keys and payloads.
func runNN(eInitPriv, eRespPriv, payload0, payload1 []byte) nnTrace {
	var t nnTrace
	h := make([]byte, 64)
	copy(h, noiseProtocolName)
	t.HInit = append([]byte(nil), h...)
	ck := append([]byte(nil), h...)
	h = hashAll(h, nil)
	t.HAfterPrologue = h

	eInitPub := x25519Public(eInitPriv)
	h = hashAll(h, eInitPub)
	t.HAfterE0 = h
	h = hashAll(h, payload0) // no key yet: the payload is sent in the clear
	t.HAfterMsg0 = h
	t.Msg0 = append(append([]byte(nil), eInitPub...), payload0...)

	eRespPub := x25519Public(eRespPriv)
	h = hashAll(h, eRespPub)
	t.HAfterE1 = h
	dh, err := curve25519.X25519(eRespPriv, eInitPub)
	if err != nil {
		panic(err)
	}
	t.DHEE = dh
	ck, k := hkdf2(ck, dh)
	t.CKAfterEE = ck
	t.KMsg1 = k[:32]
	c1 := seal(t.KMsg1, 0, h, payload1)
	t.Msg1Ciphertext = c1
	h = hashAll(h, c1)
	t.HFinal = h
	t.Msg1 = append(append([]byte(nil), eRespPub...), c1...)

	k1, k2 := hkdf2(ck, nil)
	t.KInitToResp = k1[:32]
	t.KRespToInit = k2[:32]
	return t
}

// createPreSig is go-p2p's signature pre-hash, written from its description: BLAKE2Xb with
// a 64-byte output and no key over len(purpose) || purpose || msg. writeVectors checks it
// against signatures that go-p2p's own code made.
func createPreSig(purpose string, msg []byte) []byte {
	if len(purpose) > 255 {
		panic("purpose too long")
	}
	x, err := blake2b.NewXOF(64, nil)
	if err != nil {
		panic(err)
	}
	x.Write([]byte{byte(len(purpose))})
	x.Write([]byte(purpose))
	x.Write(msg)
	out := make([]byte, 64)
	if _, err := x.Read(out); err != nil {
		panic(err)
	}
	return out
}
