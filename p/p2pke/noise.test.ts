import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { availableBackends, type CryptoBackend, getBackend } from '../../crypto/index.js'
import {
  CipherState,
  NOISE_MAX_MESSAGE_LEN,
  NOISE_PROTOCOL_NAME,
  NoiseNN,
  noiseNonce,
  SymmetricState,
} from './noise.js'

interface NoiseRecord {
  protocol_name: string
  source: { repository: string }
  transport_sender_rule: string
  vector: {
    init_prologue: string
    resp_prologue: string
    init_ephemeral: string
    resp_ephemeral: string
    handshake_hash?: string
    messages: { payload: string; ciphertext: string }[]
  }
  derived: {
    h_after_message_0: string
    h_after_message_1: string
    handshake_hash: string
    k_initiator_to_responder: string
    k_responder_to_initiator: string
  }
}

const fx = JSON.parse(
  readFileSync(new URL('../../fixtures/noise-nn-vectors.json', import.meta.url), 'utf8'),
) as { vectors: NoiseRecord[] }
const vectors = fx.vectors.filter((v) => v.protocol_name === NOISE_PROTOCOL_NAME)
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'))
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/** True when transport message `j` (0-based, after the handshake) is sent by the initiator. */
function sentByInitiator(rule: string, handshakeMessages: number, j: number): boolean {
  if (rule.startsWith('message i (0-based, counting handshake messages)')) {
    return (handshakeMessages + j) % 2 === 0
  }
  if (rule.startsWith('flynn/noise convention')) return j % 2 === 0
  throw new Error(`unknown transport_sender_rule: ${rule}`)
}

function pair(b: CryptoBackend, v: NoiseRecord['vector']): [NoiseNN, NoiseNN] {
  const ie = hex(v.init_ephemeral)
  const re = hex(v.resp_ephemeral)
  return [
    new NoiseNN({
      initiator: true,
      prologue: hex(v.init_prologue),
      ephemeral: { privateKey: ie, publicKey: b.x25519PublicKey(ie) },
      backend: b,
    }),
    new NoiseNN({
      initiator: false,
      prologue: hex(v.resp_prologue),
      ephemeral: { privateKey: re, publicKey: b.x25519PublicKey(re) },
      backend: b,
    }),
  ]
}

describe('noiseNonce', () => {
  it('is 4 zero bytes then n as 64-bit little-endian', () => {
    expect(toHex(noiseNonce(0))).toBe('000000000000000000000000')
    expect(toHex(noiseNonce(16))).toBe('000000001000000000000000')
    expect(toHex(noiseNonce(0xfffffffe))).toBe('00000000feffffff00000000')
    expect(toHex(noiseNonce(2 ** 40 + 3))).toBe('000000000300000000010000')
    expect(() => noiseNonce(-1)).toThrow(RangeError)
    expect(() => noiseNonce(1.5)).toThrow(RangeError)
  })
})

it('has every BLAKE2b NN vector of the fixture (7)', () => {
  expect(vectors.length).toBe(7)
})

describe.each(availableBackends())('Noise NN (%s backend)', (name) => {
  const b = getBackend(name)

  it.each(vectors.map((v, i) => [`${i} ${v.source.repository}`, v] as const))(
    'vector %s: messages, hashes, split keys and transport',
    (_label, rec) => {
      const v = rec.vector
      const [init, resp] = pair(b, v)
      const [m0, m1, ...transport] = v.messages
      // Message 1: initiator -> responder.
      const w0 = init.writeMessage1(hex(m0!.payload))
      expect(toHex(w0)).toBe(m0!.ciphertext)
      expect(toHex(init.handshakeHash())).toBe(rec.derived.h_after_message_0)
      expect(toHex(resp.readMessage1(w0)!)).toBe(m0!.payload)
      expect(toHex(resp.handshakeHash())).toBe(rec.derived.h_after_message_0)
      // Message 2: responder -> initiator.
      const w1 = resp.writeMessage2(hex(m1!.payload))
      expect(toHex(w1)).toBe(m1!.ciphertext)
      expect(toHex(init.readMessage2(w1)!)).toBe(m1!.payload)
      expect(toHex(init.handshakeHash())).toBe(rec.derived.h_after_message_1)
      expect(init.complete && resp.complete).toBe(true)
      const ti = init.split()
      const tr = resp.split()
      expect(toHex(ti.handshakeHash)).toBe(rec.derived.handshake_hash)
      expect(toHex(tr.handshakeHash)).toBe(rec.derived.handshake_hash)
      if (v.handshake_hash !== undefined) expect(toHex(ti.handshakeHash)).toBe(v.handshake_hash)
      expect(toHex(ti.send.key())).toBe(rec.derived.k_initiator_to_responder)
      expect(toHex(ti.receive.key())).toBe(rec.derived.k_responder_to_initiator)
      expect(tr.receive.key()).toEqual(ti.send.key())
      expect(tr.send.key()).toEqual(ti.receive.key())
      // Transport: each direction counts its own nonces from 0.
      const nonces = { i2r: 0, r2i: 0 }
      for (const [j, m] of transport.entries()) {
        const fromInit = sentByInitiator(rec.transport_sender_rule, 2, j)
        const [sender, receiver] = fromInit ? [ti, tr] : [tr, ti]
        const n = fromInit ? nonces.i2r++ : nonces.r2i++
        const ct = sender.send.encrypt(n, hex(m.payload))
        expect(toHex(ct)).toBe(m.ciphertext)
        expect(toHex(receiver.receive.decrypt(n, ct)!)).toBe(m.payload)
        expect(receiver.receive.decrypt(n + 1, ct)).toBeUndefined()
        expect(sender.receive.decrypt(n, ct)).toBeUndefined()
      }
    },
  )

  it('a flipped bit anywhere in either handshake message is refused, leaving the state unchanged', () => {
    const rec = vectors[0]!
    const v = rec.vector
    const ref = pair(b, v)
    const m0 = ref[0].writeMessage1(hex(v.messages[0]!.payload))
    ref[1].readMessage1(m0)
    const m1 = ref[1].writeMessage2(hex(v.messages[1]!.payload))

    // Message 2 authenticates the whole transcript: every flip of it is refused.
    const [init] = pair(b, v)
    init.writeMessage1(hex(v.messages[0]!.payload))
    for (let bit = 0; bit < m1.length * 8; bit++) {
      const bad = m1.slice()
      bad[bit >> 3]! ^= 1 << (bit & 7)
      // A flip in the top bit of the key's last byte is masked by X25519 (RFC 7748 §5) and
      // changes nothing but h, so the tag still fails: every flip must be refused.
      expect(init.readMessage2(bad), `bit ${bit}`).toBeUndefined()
      expect(init.messages).toBe(1)
    }
    expect(toHex(init.readMessage2(m1)!)).toBe(v.messages[1]!.payload)

    // Message 1 has no key yet: a flipped bit changes h, so the responder's message 2 no longer
    // authenticates for the initiator, and the handshake fails there.
    for (let bit = 0; bit < m0.length * 8; bit++) {
      const bad = m0.slice()
      bad[bit >> 3]! ^= 1 << (bit & 7)
      const [i2, r2] = pair(b, v)
      i2.writeMessage1(hex(v.messages[0]!.payload))
      if (r2.readMessage1(bad) === undefined) continue // a low-order key: refused at once
      const reply = r2.writeMessage2(hex(v.messages[1]!.payload))
      expect(i2.readMessage2(reply), `bit ${bit}`).toBeUndefined()
    }
  })

  it('refuses low-order ephemeral keys and truncated messages without changing state', () => {
    const resp = new NoiseNN({ initiator: false, backend: b })
    const h = resp.handshakeHash()
    expect(resp.readMessage1(new Uint8Array(32))).toBeUndefined() // u = 0
    expect(resp.readMessage1(new Uint8Array(31))).toBeUndefined()
    expect(resp.readMessage1(new Uint8Array(NOISE_MAX_MESSAGE_LEN + 1))).toBeUndefined()
    expect(resp.readMessage1('x' as unknown as Uint8Array)).toBeUndefined()
    expect(resp.handshakeHash()).toEqual(h)
    expect(resp.messages).toBe(0)

    const init = new NoiseNN({ initiator: true, backend: b })
    const m0 = init.writeMessage1()
    const hi = init.handshakeHash()
    const one = new Uint8Array(48)
    one[0] = 1 // u = 1, low order
    expect(init.readMessage2(one)).toBeUndefined()
    expect(init.readMessage2(new Uint8Array(47))).toBeUndefined()
    expect(init.handshakeHash()).toEqual(hi)
    // And the real reply still works afterwards.
    expect(resp.readMessage1(m0)).toEqual(new Uint8Array(0))
    expect(init.readMessage2(resp.writeMessage2())).toEqual(new Uint8Array(0))
  })

  it('random handshakes agree on h and keys, and transport works with any nonce and ad', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 100 }),
        fc.uint8Array({ maxLength: 100 }),
        fc.uint8Array({ maxLength: 40 }),
        fc.integer({ min: 0, max: 2 ** 32 }),
        fc.uint8Array({ maxLength: 8 }),
        (p0, p1, prologue, n, ad) => {
          const init = new NoiseNN({ initiator: true, prologue, backend: b })
          const resp = new NoiseNN({ initiator: false, prologue, backend: b })
          expect(resp.readMessage1(init.writeMessage1(p0))).toEqual(p0)
          // P2PKE's responder signs this h; both sides must see the same one.
          expect(resp.handshakeHash()).toEqual(init.handshakeHash())
          expect(init.readMessage2(resp.writeMessage2(p1))).toEqual(p1)
          const ti = init.split()
          const tr = resp.split()
          expect(ti.handshakeHash).toEqual(tr.handshakeHash)
          const ct = ti.send.encrypt(n, p0, ad)
          expect(tr.receive.decrypt(n, ct, ad)).toEqual(p0)
          expect(tr.receive.decrypt(n, ct, Uint8Array.of(...ad, 0))).toBeUndefined()
          const back = tr.send.encrypt(n, p1, ad)
          expect(ti.receive.decrypt(n, back, ad)).toEqual(p1)
        },
      ),
      { numRuns: 25 },
    )
  })

  it('different prologues make the handshake fail', () => {
    const init = new NoiseNN({ initiator: true, prologue: Uint8Array.of(1), backend: b })
    const resp = new NoiseNN({ initiator: false, prologue: Uint8Array.of(2), backend: b })
    resp.readMessage1(init.writeMessage1())
    expect(init.readMessage2(resp.writeMessage2())).toBeUndefined()
  })

  it('throws on steps out of order or from the wrong role', () => {
    const init = new NoiseNN({ initiator: true, backend: b })
    const resp = new NoiseNN({ initiator: false, backend: b })
    expect(() => init.readMessage1(new Uint8Array(32))).toThrow(/responder/)
    expect(() => resp.writeMessage1()).toThrow(/initiator/)
    expect(() => resp.writeMessage2()).toThrow(/after 0 messages/)
    expect(() => init.split()).toThrow(/complete/)
    const m0 = init.writeMessage1()
    expect(() => init.writeMessage1()).toThrow(/after 1 messages/)
    resp.readMessage1(m0)
    expect(() => resp.readMessage1(m0)).toThrow()
    expect(() => init.writeMessage1(new Uint8Array(NOISE_MAX_MESSAGE_LEN))).toThrow()
  })
})

describe('SymmetricState and CipherState', () => {
  const b = getBackend('noble')
  it('hashes protocol names longer than HASHLEN (§5.2)', () => {
    const long = 'x'.repeat(65)
    const s = new SymmetricState(long, b)
    expect(s.handshakeHash()).toEqual(b.blake2b(new TextEncoder().encode(long)))
    expect(s.hasKey()).toBe(false)
  })
  it('a fork is independent until adopted', () => {
    const s = new SymmetricState(NOISE_PROTOCOL_NAME, b)
    const f = s.fork()
    f.mixHash(Uint8Array.of(1))
    expect(f.handshakeHash()).not.toEqual(s.handshakeHash())
    s.adopt(f)
    expect(f.handshakeHash()).toEqual(s.handshakeHash())
  })
  it('CipherState copies its key and checks its length', () => {
    const k = new Uint8Array(32).fill(1)
    const c = new CipherState(k, b)
    k.fill(2)
    expect(c.key()).toEqual(new Uint8Array(32).fill(1))
    expect(() => new CipherState(new Uint8Array(16), b)).toThrow(RangeError)
  })
})
