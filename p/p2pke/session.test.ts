import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isBadMessageError } from '../../core/index.js'
import {
  availableBackends,
  type CryptoBackend,
  defaultBackend,
  getBackend,
  signWithPurpose,
  verifyWithPurpose,
} from '../../crypto/index.js'
import {
  ED25519_OID,
  marshalPublicKey,
  type PrivateKey,
  parsePublicKey,
} from '../../f/x509/index.js'
import { testKey } from '../../p2ptest/index.js'
import {
  MAX_MESSAGE_LEN,
  MAX_NONCE,
  PURPOSE_CHANNEL_BINDING,
  PURPOSE_TIMESTAMP,
  REJECT_AFTER_TIME_MS,
} from './constants.js'
import {
  decodeTai64n,
  encodeHeader,
  encodeInitDone,
  encodeInitHelloPayload,
  encodeRespHello,
  encodeTai64n,
  tai64nFromUnixMs,
} from './messages.js'
import { CipherState, NoiseNN } from './noise.js'
import {
  type DropReason,
  Session,
  type SessionOptions,
  type SessionOutput,
  verifyInitHello,
} from './session.js'

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'))
const toHex = (b: Uint8Array | undefined): string | undefined =>
  b === undefined ? undefined : Buffer.from(b).toString('hex')
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)
const concat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(Buffer.concat(parts))

const key = (i: number): PrivateKey => ({ algorithm: ED25519_OID, data: testKey(i).seed })
const pubX509 = (i: number): Uint8Array =>
  marshalPublicKey({ algorithm: ED25519_OID, data: testKey(i).publicKey })

function newPair(opts: Partial<SessionOptions> = {}, ropts: Partial<SessionOptions> = {}) {
  const i = new Session({ initiator: true, privateKey: key(1), now: 0, ...opts })
  const r = new Session({ initiator: false, privateKey: key(2), now: 0, ...ropts })
  return { i, r }
}

function reply(o: SessionOutput): Uint8Array {
  if (o.type !== 'handshake' || o.reply === undefined) {
    throw new Error(`expected a handshake reply, got ${JSON.stringify(o)}`)
  }
  return o.reply
}

function expectDrop(o: SessionOutput, reason?: DropReason): void {
  expect(o.type).toBe('drop')
  if (reason !== undefined && o.type === 'drop') expect(o.reason).toBe(reason)
}

/** Runs a handshake by hand; returns the four messages. */
function handshake(i: Session, r: Session, now = 0): Uint8Array[] {
  const m0 = i.handshakeMessage()!
  const m1 = reply(r.deliver(m0, now))
  const m2 = reply(i.deliver(m1, now))
  const m3 = reply(r.deliver(m2, now))
  const o = i.deliver(m3, now)
  expect(o).toEqual({ type: 'handshake', reply: undefined, becameReady: true, repeat: false })
  return [m0, m1, m2, m3]
}

function flip(b: Uint8Array, bit: number): Uint8Array {
  const out = b.slice()
  out[bit >> 3]! ^= 1 << (bit & 7)
  return out
}

// ---------------------------------------------------------------------------------------------
// The Go transcript (interop/vectors/handshake.json, made by go-p2p's own Session)

interface GoVectors {
  time: { tai64n_hex: string }
  initiator: GoParty
  responder: GoParty
  messages: {
    name: string
    direction: 'i2r' | 'r2i'
    counter: number
    hex: string
    plaintext_hex?: string
    session_id_blake2b256_hex?: string
    signature?: { purpose: string; signed_message: string; sig: string; signer: string }
  }[]
  noise_intermediates: Record<string, string>
}
interface GoParty {
  seed_hex: string
  public_key_hex: string
  public_key_x509_hex: string
  ephemeral_private_hex: string
  ephemeral_public_hex: string
}
const go = JSON.parse(
  readFileSync(new URL('../../interop/vectors/handshake.json', import.meta.url), 'utf8'),
) as GoVectors

function goSessions(b: CryptoBackend, opts: Partial<SessionOptions> = {}) {
  const eph = (p: GoParty) => {
    const priv = hex(p.ephemeral_private_hex)
    return { privateKey: priv, publicKey: b.x25519PublicKey(priv) }
  }
  const i = new Session({
    initiator: true,
    now: 0,
    backend: b,
    privateKey: { algorithm: ED25519_OID, data: hex(go.initiator.seed_hex) },
    ephemeral: eph(go.initiator),
    timestamp: decodeTai64n(hex(go.time.tai64n_hex)),
    ...opts,
  })
  const r = new Session({
    initiator: false,
    now: 0,
    backend: b,
    privateKey: { algorithm: ED25519_OID, data: hex(go.responder.seed_hex) },
    ephemeral: eph(go.responder),
    ...opts,
  })
  return { i, r }
}
const goBytes = (name: string, direction?: string) =>
  hex(
    go.messages.find(
      (m) => m.name === name && (direction === undefined || m.direction === direction),
    )!.hex,
  )

describe('Session: the go-p2p transcript', () => {
  for (const name of availableBackends()) {
    it(`reproduces every byte go-p2p wrote, in both roles (${name})`, () => {
      const b = getBackend(name)
      const { i, r } = goSessions(b)
      const [m0, m1, m2, m3] = go.messages.map((m) => m.hex)
      expect(toHex(i.handshakeMessage())).toBe(m0)
      expect(toHex(i.id)).toBe(go.messages[0]!.session_id_blake2b256_hex)
      // Each side answers Go's bytes with Go's bytes.
      expect(toHex(reply(r.deliver(hex(m0!), 1)))).toBe(m1)
      expect(toHex(reply(i.deliver(hex(m1!), 1)))).toBe(m2)
      expect(toHex(reply(r.deliver(hex(m2!), 1)))).toBe(m3)
      expect(i.deliver(hex(m3!), 1)).toMatchObject({ type: 'handshake', becameReady: true })
      expect(toHex(r.id)).toBe(toHex(i.id))
      expect(toHex(i.handshakeHash())).toBe(go.noise_intermediates['h_final'])
      expect(toHex(r.handshakeHash())).toBe(go.noise_intermediates['h_final'])
      expect(toHex(i.remoteKey()!.data)).toBe(go.responder.public_key_hex)
      expect(toHex(r.remoteKey()!.data)).toBe(go.initiator.public_key_hex)
      expect(r.timestamp).toEqual(decodeTai64n(hex(go.time.tai64n_hex)))

      // Data: our sealing matches Go's, and Go's data opens here.
      for (const m of go.messages.filter((m) => m.name === 'Data')) {
        const [from, to] = m.direction === 'i2r' ? [i, r] : [r, i]
        expect(toHex(from.send(hex(m.plaintext_hex!), 2))).toBe(m.hex)
        expect(to.deliver(hex(m.hex), 2)).toEqual({
          type: 'data',
          plaintext: hex(m.plaintext_hex!),
          becameReady: false,
        })
      }
    })
  }

  it("verifies the transcript's signatures with the recorded purposes and keys", () => {
    const keys = {
      initiator: hex(go.initiator.public_key_hex),
      responder: hex(go.responder.public_key_hex),
    }
    const signed = go.messages.filter((m) => m.signature !== undefined)
    expect(signed.map((m) => [m.name, m.signature!.purpose])).toEqual([
      ['InitHello', PURPOSE_TIMESTAMP],
      ['RespHello', PURPOSE_CHANNEL_BINDING],
      ['InitDone', PURPOSE_CHANNEL_BINDING],
    ])
    for (const m of signed) {
      const s = m.signature!
      const pub = keys[s.signer as 'initiator' | 'responder']
      expect(verifyWithPurpose(pub, s.purpose, hex(s.signed_message), hex(s.sig))).toBe(true)
      // A signature is bound to its purpose.
      const other = s.purpose === PURPOSE_TIMESTAMP ? PURPOSE_CHANNEL_BINDING : PURPOSE_TIMESTAMP
      expect(verifyWithPurpose(pub, other, hex(s.signed_message), hex(s.sig))).toBe(false)
    }
    // Which hash each side signs: the responder h after InitHello, the initiator the final h.
    expect(signed[1]!.signature!.signed_message).toBe(go.noise_intermediates['h_after_init_hello'])
    expect(signed[2]!.signature!.signed_message).toBe(go.noise_intermediates['h_final'])
  })

  it("refuses Go's data before InitDone (early data), accepts it after", () => {
    const { i, r } = goSessions(defaultBackend())
    const data = goBytes('Data', 'i2r')
    expectDrop(r.deliver(data, 1), 'early-data')
    r.deliver(goBytes('InitHello'), 1)
    expect(r.state).toBe('resp-hello-sent')
    expectDrop(r.deliver(data, 1), 'early-data')
    expectDrop(i.deliver(goBytes('Data', 'r2i'), 1), 'early-data')
    r.deliver(goBytes('InitDone'), 1)
    expect(r.ready).toBe(true)
    expect(r.deliver(data, 1)).toMatchObject({ type: 'data' })
    // Data from the responder completes the initiator like RespDone does (as go-p2p).
    i.deliver(goBytes('RespHello'), 1)
    expect(i.state).toBe('init-done-sent')
    expect(i.ready).toBe(false)
    expect(i.deliver(goBytes('Data', 'r2i'), 1)).toMatchObject({ type: 'data', becameReady: true })
    expect(i.ready).toBe(true)
    // RespDone arriving late is still welcome, once.
    expect(i.deliver(goBytes('RespDone'), 1)).toMatchObject({ type: 'handshake', repeat: false })
    expect(i.deliver(goBytes('RespDone'), 1)).toMatchObject({ type: 'handshake', repeat: true })
  })

  it('refuses counters at and above MAX_NONCE = 2^32 − 2 (crafted with the recorded key)', () => {
    const { i, r } = goSessions(defaultBackend())
    handshake(i, r)
    const k = new CipherState(hex(go.noise_intermediates['k_i2r']!))
    const data = (n: number) => {
      const h = encodeHeader(n)
      return concat(h, k.encrypt(n, utf8(`n=${n}`), h))
    }
    expect(r.deliver(data(MAX_NONCE - 1), 1)).toMatchObject({ type: 'data' })
    expectDrop(r.deliver(data(MAX_NONCE), 1), 'replayed')
    expectDrop(r.deliver(data(0xffffffff), 1), 'replayed')
    // Far below the highest counter: out of the window.
    expectDrop(r.deliver(data(16), 1), 'replayed')
    expect(r.deliver(data(MAX_NONCE - 2), 1)).toMatchObject({ type: 'data' })
  })
})

// ---------------------------------------------------------------------------------------------

describe('Session: handshake', () => {
  it('completes by hand; keys and hash appear only once ready', () => {
    const { i, r } = newPair()
    expect(i.state).toBe('init-hello-sent')
    expect(r.state).toBe('awaiting-init-hello')
    expect(r.id).toBeUndefined()
    expect(r.handshakeMessage()).toBeUndefined()
    const m0 = i.handshakeMessage()!
    const m1 = reply(r.deliver(m0, 0))
    expect(r.state).toBe('resp-hello-sent')
    expect(r.remoteKey()).toBeUndefined()
    expect(r.handshakeHash()).toBeUndefined()
    const m2 = reply(i.deliver(m1, 0))
    expect(i.state).toBe('init-done-sent')
    expect(i.remoteKey()).toBeUndefined()
    const m3 = r.deliver(m2, 0)
    expect(m3).toMatchObject({ type: 'handshake', becameReady: true })
    expect(r.ready).toBe(true)
    expect(i.ready).toBe(false)
    expect(i.canSend(0)).toBe(false)
    i.deliver(reply(m3), 0)
    expect(i.ready).toBe(true)
    expect(i.handshakeMessage()).toBeUndefined()
    expect(r.handshakeMessage()).toBeUndefined()

    expect(toHex(i.handshakeHash())).toBe(toHex(r.handshakeHash()))
    expect(i.handshakeHash()).toHaveLength(64)
    expect(toHex(i.id)).toBe(toHex(r.id))
    expect(toHex(i.remoteKey()!.data)).toBe(toHex(testKey(2).publicKey))
    expect(toHex(r.remoteKey()!.data)).toBe(toHex(testKey(1).publicKey))
    expect(i.timestamp).toEqual(r.timestamp)

    // Counters: 0–3 for the handshake, data from 16, each direction on its own key.
    const a = i.send(utf8('hello'), 1)
    const b = r.send(utf8('world'), 1)
    expect(toHex(a.subarray(0, 4))).toBe('00000010')
    expect(toHex(b.subarray(0, 4))).toBe('00000010')
    expect(a).toHaveLength(4 + 5 + 16)
    expect(r.deliver(a, 1)).toEqual({ type: 'data', plaintext: utf8('hello'), becameReady: false })
    expect(i.deliver(b, 1)).toEqual({ type: 'data', plaintext: utf8('world'), becameReady: false })
    expect(toHex(i.send(new Uint8Array(0), 1).subarray(0, 4))).toBe('00000011')
    expect(i.messagesSent).toBe(2)
    // A session's own messages are not accepted back (the other direction's key).
    expectDrop(i.deliver(i.send(utf8('x'), 1), 1), 'unauthenticated')
  })

  it('answers every retransmitted handshake message with the same bytes', () => {
    const { i, r } = newPair()
    const [m0, m1, m2, m3] = handshake(i, r)
    for (let k = 0; k < 5; k++) {
      expect(r.deliver(m0!, 1)).toEqual({
        type: 'handshake',
        reply: m1,
        becameReady: false,
        repeat: true,
      })
      expect(i.deliver(m1!, 1)).toEqual({
        type: 'handshake',
        reply: m2,
        becameReady: false,
        repeat: true,
      })
      expect(r.deliver(m2!, 1)).toEqual({
        type: 'handshake',
        reply: m3,
        becameReady: false,
        repeat: true,
      })
      expect(i.deliver(m3!, 1)).toEqual({
        type: 'handshake',
        reply: undefined,
        becameReady: false,
        repeat: true,
      })
    }
    expect(i.ready && r.ready).toBe(true)
    // Messages of the wrong role are not ours.
    expectDrop(i.deliver(m0!, 1), 'unexpected')
    expectDrop(r.deliver(m1!, 1), 'unexpected')
    expectDrop(i.deliver(m2!, 1), 'unexpected')
    expectDrop(r.deliver(m3!, 1), 'unexpected')
  })

  it('survives any order of duplicated, delayed and reordered handshake messages (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { minLength: 0, maxLength: 40 }), (choices) => {
        const { i, r } = newPair()
        // Every message ever sent in each direction stays in flight and may arrive any number
        // of times; each distinct input must always get the same answer.
        const toR: Uint8Array[] = [i.handshakeMessage()!]
        const toI: Uint8Array[] = []
        const answers = new Map<string, string | undefined>()
        const give = (s: Session, m: Uint8Array, back: Uint8Array[]) => {
          const o = s.deliver(m, 0)
          const k = `${s === i ? 'i' : 'r'}:${toHex(m)}`
          const got =
            o.type === 'handshake' ? toHex(o.reply) : `drop:${o.type === 'drop' && o.reason}`
          if (answers.has(k)) expect(got).toBe(answers.get(k))
          answers.set(k, got)
          if (o.type === 'handshake' && o.reply !== undefined) back.push(o.reply)
        }
        for (const c of choices) {
          const all = toR.length + toI.length
          const n = c % all
          if (n < toR.length) give(r, toR[n]!, toI)
          else give(i, toI[n - toR.length]!, toR)
        }
        // Then let the latest message of each side through until both are ready.
        for (let k = 0; k < 4 && !(i.ready && r.ready); k++) {
          const mi = i.handshakeMessage() ?? toR.at(-1)!
          give(r, mi, toI)
          if (toI.length > 0) give(i, toI.at(-1)!, toR)
        }
        expect(i.ready && r.ready).toBe(true)
        expect(toHex(i.handshakeHash())).toBe(toHex(r.handshakeHash()))
      }),
      { numRuns: 60 },
    )
  })

  it('refuses keys acceptKey refuses, leaving the session as it was', () => {
    const seen: string[] = []
    const { i, r } = newPair(
      {
        acceptKey: (k) => {
          seen.push(`i:${toHex(k.data)}`)
          return false
        },
      },
      {
        acceptKey: (k) => {
          seen.push(`r:${toHex(k.data)}`)
          return false
        },
      },
    )
    const m0 = i.handshakeMessage()!
    expectDrop(r.deliver(m0, 0), 'key-rejected')
    expect(r.state).toBe('awaiting-init-hello')
    expect(seen).toEqual([`r:${toHex(testKey(1).publicKey)}`])

    const r2 = new Session({ initiator: false, privateKey: key(2), now: 0 })
    const m1 = reply(r2.deliver(m0, 0))
    expectDrop(i.deliver(m1, 0), 'key-rejected')
    expect(i.state).toBe('init-hello-sent')
    expect(seen.at(-1)).toBe(`i:${toHex(testKey(2).publicKey)}`)
  })

  it('refuses signatures by another key than the one presented, or for another purpose', () => {
    const b = defaultBackend()
    const ts = encodeTai64n(tai64nFromUnixMs(1_700_000_000_000))
    // InitHello claims key 1 but is signed by key 3, or signed for the wrong purpose.
    const initHello = (sig: Uint8Array, version = 1, timestamp = ts) => {
      const n = new NoiseNN({ initiator: true, backend: b })
      const payload = encodeInitHelloPayload({
        version,
        timestampTai64n: timestamp,
        keyX509: pubX509(1),
        sig,
      })
      return { n, msg: concat(encodeHeader(0), n.writeMessage1(payload)) }
    }
    const r = new Session({ initiator: false, privateKey: key(2), now: 0 })
    expectDrop(
      r.deliver(initHello(signWithPurpose(testKey(3).seed, PURPOSE_TIMESTAMP, ts)).msg, 0),
      'bad-handshake',
    )
    expectDrop(
      r.deliver(initHello(signWithPurpose(testKey(1).seed, PURPOSE_CHANNEL_BINDING, ts)).msg, 0),
      'bad-handshake',
    )
    expectDrop(
      r.deliver(initHello(signWithPurpose(testKey(1).seed, PURPOSE_TIMESTAMP, ts), 2).msg, 0),
      'bad-handshake',
    )
    const badTs = hex('4000000065937d4a3b9aca00') // 10^9 ns
    expectDrop(
      r.deliver(
        initHello(signWithPurpose(testKey(1).seed, PURPOSE_TIMESTAMP, badTs), 1, badTs).msg,
        0,
      ),
      'bad-handshake',
    )
    expect(r.state).toBe('awaiting-init-hello')

    // A well-signed InitHello, then an InitDone signed by another key than InitHello's.
    const good = initHello(signWithPurpose(testKey(1).seed, PURPOSE_TIMESTAMP, ts))
    const m1 = reply(r.deliver(good.msg, 0))
    good.n.readMessage2(m1.subarray(4))
    const t = good.n.split()
    const initDone = (seed: Uint8Array, purpose = PURPOSE_CHANNEL_BINDING) => {
      const h = encodeHeader(2)
      return concat(
        h,
        t.send.encrypt(
          2,
          encodeInitDone({ sig: signWithPurpose(seed, purpose, t.handshakeHash) }),
          h,
        ),
      )
    }
    expectDrop(r.deliver(initDone(testKey(3).seed), 0), 'bad-handshake')
    expectDrop(r.deliver(initDone(testKey(1).seed, PURPOSE_TIMESTAMP), 0), 'bad-handshake')
    expect(r.state).toBe('resp-hello-sent')
    expect(r.deliver(initDone(testKey(1).seed), 0)).toMatchObject({ becameReady: true })

    // A RespHello claiming key 2, signed by key 3.
    const i = new Session({ initiator: true, privateKey: key(1), now: 0 })
    const m0 = i.handshakeMessage()!
    const n = new NoiseNN({ initiator: false, backend: b })
    n.readMessage1(m0.subarray(4))
    const cb = n.handshakeHash()
    const forged = concat(
      encodeHeader(1),
      n.writeMessage2(
        encodeRespHello({
          keyX509: pubX509(2),
          sig: signWithPurpose(testKey(3).seed, PURPOSE_CHANNEL_BINDING, cb),
        }),
      ),
    )
    expectDrop(i.deliver(forged, 0), 'bad-handshake')
    expect(i.state).toBe('init-hello-sent')
    // ... and the real responder still completes with it.
    handshake(i, new Session({ initiator: false, privateKey: key(2), now: 0 }))
  })
})

describe('Session: tampering', () => {
  // Every message type, every bit: dropped, nothing changes, and the real message still works.
  it('drops a flipped bit at every offset of every message and still completes', () => {
    const { i, r } = newPair()
    const m0 = i.handshakeMessage()!

    // InitHello. Its ephemeral key (bytes 4–35) is not signed — P2PKE signs only the timestamp —
    // so a responder cannot tell a flipped ephemeral key; the initiator then refuses the answer
    // (its transcript differs) and the handshake completes with the real InitHello.
    for (let bit = 0; bit < m0.length * 8; bit++) {
      const bad = flip(m0, bit)
      const inEphemeral = bit >= 4 * 8 && bit < 36 * 8
      if (!inEphemeral) {
        const o = r.deliver(bad, 0)
        expect(o.type, `InitHello bit ${bit}`).toBe('drop')
        expect(r.state).toBe('awaiting-init-hello')
        continue
      }
      const victim = new Session({ initiator: false, privateKey: key(2), now: 0 })
      const o = victim.deliver(bad, 0)
      if (o.type === 'handshake') {
        expectDrop(i.deliver(reply(o), 0), 'bad-handshake')
        expect(i.state).toBe('init-hello-sent')
      } else {
        expect(o.type).toBe('drop') // e.g. a flip that makes a low-order point
      }
    }
    const m1 = reply(r.deliver(m0, 0))

    // RespHello.
    for (let bit = 0; bit < m1.length * 8; bit++) {
      expect(i.deliver(flip(m1, bit), 0).type, `RespHello bit ${bit}`).toBe('drop')
      expect(i.state).toBe('init-hello-sent')
      expect(toHex(i.handshakeMessage())).toBe(toHex(m0))
    }
    const m2 = reply(i.deliver(m1, 0))

    // InitDone.
    for (let bit = 0; bit < m2.length * 8; bit++) {
      expect(r.deliver(flip(m2, bit), 0).type, `InitDone bit ${bit}`).toBe('drop')
      expect(r.state).toBe('resp-hello-sent')
    }
    const m3 = reply(r.deliver(m2, 0))

    // RespDone.
    for (let bit = 0; bit < m3.length * 8; bit++) {
      expect(i.deliver(flip(m3, bit), 0).type, `RespDone bit ${bit}`).toBe('drop')
      expect(i.state).toBe('init-done-sent')
    }
    expect(i.deliver(m3, 0)).toMatchObject({ becameReady: true })

    // Data, both directions. Flips in the header change the counter: a forged high counter must
    // not move the window, so the real messages (low counters) are accepted afterwards.
    for (const [from, to] of [
      [i, r],
      [r, i],
    ] as const) {
      const d = from.send(utf8('payload'), 0)
      for (let bit = 0; bit < d.length * 8; bit++) {
        expect(to.deliver(flip(d, bit), 0).type, `data bit ${bit}`).toBe('drop')
      }
      expect(to.deliver(d, 0)).toMatchObject({ type: 'data', plaintext: utf8('payload') })
    }
  })

  it('a forged high counter does not move the replay window', () => {
    const { i, r } = newPair()
    handshake(i, r)
    const first = i.send(utf8('first'), 0)
    const forged = new Uint8Array(first.length)
    forged.set(encodeHeader(0x8000_0000))
    forged.set(first.subarray(4), 4)
    expectDrop(r.deliver(forged, 0), 'unauthenticated')
    // Had the window moved to 2^31, counter 16 would now be far too old.
    expect(r.deliver(first, 0)).toMatchObject({ type: 'data' })
  })

  it('random bytes never throw and never change any state (property)', () => {
    const header = fc.oneof(fc.constantFrom(0, 1, 2, 3, 4, 15, 16, 17), fc.nat())
    const junk = fc
      .tuple(header, fc.uint8Array({ maxLength: 200 }))
      .map(([h, body]) => concat(encodeHeader(h % 2 ** 32), body))
    fc.assert(
      fc.property(
        fc.array(fc.oneof(junk, fc.uint8Array({ maxLength: 8 })), { maxLength: 6 }),
        (inputs) => {
          const { i, r } = newPair()
          const msgs: Uint8Array[] = []
          const step = [
            () => msgs.push(i.handshakeMessage()!),
            () => msgs.push(reply(r.deliver(msgs[0]!, 0))),
            () => msgs.push(reply(i.deliver(msgs[1]!, 0))),
            () => msgs.push(reply(r.deliver(msgs[2]!, 0))),
            () => i.deliver(msgs[3]!, 0),
          ]
          for (const s of step) {
            for (const x of inputs) {
              const before = [i.state, r.state]
              expect(i.deliver(x, 0).type).toBe('drop')
              expect(r.deliver(x, 0).type).toBe('drop')
              expect([i.state, r.state]).toEqual(before)
            }
            s()
          }
          expect(i.ready && r.ready).toBe(true)
        },
      ),
      { numRuns: 100 },
    )
  })
})

describe('Session: low-order X25519 keys (Wycheproof)', () => {
  const wy = JSON.parse(
    readFileSync(new URL('../../fixtures/wycheproof-x25519-edge.json', import.meta.url), 'utf8'),
  ) as { testGroups: { tests: { tcId: number; public: string; flags: string[] }[] }[] }
  const lowOrder = wy.testGroups
    .flatMap((g) => g.tests)
    .filter((t) => t.flags.includes('ZeroSharedSecret'))
    .map((t) => hex(t.public))

  it('has the cases', () => {
    expect(lowOrder.length).toBeGreaterThanOrEqual(30)
  })

  it('responder refuses an InitHello with a low-order ephemeral key', () => {
    const { i, r } = newPair()
    const m0 = i.handshakeMessage()!
    for (const pub of lowOrder) {
      const bad = m0.slice()
      bad.set(pub, 4)
      expectDrop(r.deliver(bad, 0), 'bad-handshake')
      expect(r.state).toBe('awaiting-init-hello')
    }
    handshake(i, r)
  })

  it('initiator refuses a RespHello with a low-order ephemeral key', () => {
    const { i, r } = newPair()
    const m1 = reply(r.deliver(i.handshakeMessage()!, 0))
    for (const pub of lowOrder) {
      const bad = m1.slice()
      bad.set(pub, 4)
      expectDrop(i.deliver(bad, 0), 'bad-handshake')
      expect(i.state).toBe('init-hello-sent')
    }
    expect(i.deliver(m1, 0).type).toBe('handshake')
  })
})

describe('Session: replay and expiry', () => {
  it('delivers a captured packet once: replayed at once, after the window slides, to another session', () => {
    const { i, r } = newPair()
    handshake(i, r)
    const captured = i.send(utf8('once'), 0)
    expect(r.deliver(captured, 0)).toMatchObject({ type: 'data' })
    expectDrop(r.deliver(captured, 0), 'replayed')
    // Slide the window past it: more than 8128 messages later.
    const later: Uint8Array[] = []
    for (let k = 0; k < 8200; k++) later.push(i.send(utf8(String(k)), 0))
    expect(r.deliver(later.at(-1)!, 0)).toMatchObject({ type: 'data' })
    expectDrop(r.deliver(captured, 0), 'replayed')
    // Out-of-order delivery inside the window is fine, once each.
    expect(r.deliver(later[8000]!, 0)).toMatchObject({ type: 'data' })
    expectDrop(r.deliver(later[8000]!, 0), 'replayed')
    // A new session between the same keys (a rekey) does not accept the old session's packets.
    const { i: i2, r: r2 } = newPair()
    handshake(i2, r2)
    expectDrop(r2.deliver(captured, 0), 'unauthenticated')
    expectDrop(r2.deliver(later[100]!, 0), 'unauthenticated')
  })

  it('expires by age: from REJECT_AFTER_TIME_MS on, nothing is sent or accepted', () => {
    const t0 = 1_000
    const { i, r } = newPair({ now: t0 }, { now: t0 + 10 })
    expect(i.expiresAt).toBe(t0 + REJECT_AFTER_TIME_MS)
    handshake(i, r, t0 + 20)
    const late = t0 + REJECT_AFTER_TIME_MS
    const d = i.send(utf8('just in time'), late - 1)
    expect(i.canSend(late - 1)).toBe(true)
    expect(i.canSend(late)).toBe(false)
    expect(i.isExpired(late)).toBe(true)
    expect(() => i.send(utf8('late'), late)).toThrow(/expired/)
    expect(r.deliver(d, late + 9)).toMatchObject({ type: 'data' })
    expectDrop(r.deliver(i.send(utf8('x'), late - 2), late + 10), 'expired')
    // Handshake messages too.
    const { i: i2, r: r2 } = newPair({}, { rejectAfterTimeMs: 100 })
    expectDrop(r2.deliver(i2.handshakeMessage()!, 100), 'expired')
    expect(r2.deliver(i2.handshakeMessage()!, 99).type).toBe('handshake')
  })

  it('expires by count: a session sends counters 16 … limit − 1 and no more', () => {
    const { i, r } = newPair({ rejectAfterMessages: 20 }, { rejectAfterMessages: 20 })
    expect(new Session({ initiator: false, privateKey: key(1), now: 0 }).messageLimit).toBe(
      MAX_NONCE,
    )
    handshake(i, r)
    const sent = [16, 17, 18, 19].map(() => i.send(utf8('m'), 0))
    expect(i.messagesSent).toBe(4)
    expect(i.canSend(0)).toBe(false)
    expect(i.isExpired(0)).toBe(true)
    expect(() => i.send(utf8('m'), 0)).toThrow(Error)
    for (const d of sent) expect(r.deliver(d, 0)).toMatchObject({ type: 'data' })
    // The receiver's window refuses the limit itself (a sender with a larger limit).
    const { i: i2, r: r2 } = newPair({}, { rejectAfterMessages: 17 })
    handshake(i2, r2)
    expect(r2.deliver(i2.send(utf8('16'), 0), 0)).toMatchObject({ type: 'data' })
    expectDrop(r2.deliver(i2.send(utf8('17'), 0), 0), 'replayed')
  })
})

describe('verifyInitHello', () => {
  it("checks go-p2p's InitHello without a session", () => {
    const m = goBytes('InitHello')
    const v = verifyInitHello(m)!
    expect(toHex(v.key.data)).toBe(go.initiator.public_key_hex)
    expect(v.timestamp).toEqual(decodeTai64n(hex(go.time.tai64n_hex)))
    expect(toHex(v.id)).toBe(go.messages[0]!.session_id_blake2b256_hex)
    // Every bit outside the (unsigned) ephemeral key matters.
    for (let bit = 0; bit < m.length * 8; bit++) {
      if (bit >= 4 * 8 && bit < 36 * 8) continue
      expect(verifyInitHello(flip(m, bit)), `bit ${bit}`).toBeUndefined()
    }
    expect(verifyInitHello(goBytes('RespHello'))).toBeUndefined()
    expect(verifyInitHello(new Uint8Array(3))).toBeUndefined()
    expect(verifyInitHello('x' as never)).toBeUndefined()
  })
})

describe('Session: arguments', () => {
  it('checks its options and the plaintext length', () => {
    expect(() => new Session({ initiator: true, privateKey: key(1), now: Number.NaN })).toThrow(
      TypeError,
    )
    expect(() => new Session({ initiator: 'yes' as never, privateKey: key(1), now: 0 })).toThrow(
      TypeError,
    )
    for (const m of [15, MAX_NONCE + 1, 1.5]) {
      expect(
        () => new Session({ initiator: true, privateKey: key(1), now: 0, rejectAfterMessages: m }),
      ).toThrow(RangeError)
    }
    expect(
      () => new Session({ initiator: true, privateKey: key(1), now: 0, rejectAfterTimeMs: 0 }),
    ).toThrow(RangeError)
    let thrown: unknown
    try {
      new Session({
        initiator: true,
        privateKey: { algorithm: ED25519_OID, data: new Uint8Array(5) },
        now: 0,
      })
    } catch (e) {
      thrown = e
    }
    expect(isBadMessageError(thrown)).toBe(true)

    const { i, r } = newPair()
    expect(() => i.send(utf8('early'), 0)).toThrow(/before the handshake/)
    handshake(i, r)
    expect(r.deliver(i.send(new Uint8Array(MAX_MESSAGE_LEN), 0), 0)).toMatchObject({ type: 'data' })
    expect(() => i.send(new Uint8Array(MAX_MESSAGE_LEN + 1), 0)).toThrow(RangeError)
    expect(() => i.deliver(new Uint8Array(4), Number.POSITIVE_INFINITY)).toThrow(TypeError)
    // The initiator's InitHello carries its key in X.509 form.
    expect(toHex(marshalPublicKey(parsePublicKey(pubX509(1))))).toBe(toHex(pubX509(1)))
  })
})
