import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  availableBackends,
  type BackendName,
  type CryptoBackend,
  getBackend,
  hkdfBlake2b,
} from './index.js'

function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8')) as T
}
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'))
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

interface AeadVector {
  id: string
  key: string
  nonce: string
  aad: string
  plaintext?: string
  ciphertext: string
  tag: string
  result: 'valid' | 'invalid'
}
const aead = fixture<{ vectors: AeadVector[]; derived_negative: AeadVector[] }>(
  'rfc8439-chacha20poly1305-aead.json',
)
const rfc7748 = fixture<{
  scalar_mult: { id: string; scalar: string; u_coordinate: string; output: string }[]
  iterated: { iterations: number; k_after: string }[]
  ecdh: Record<string, string>
}>('rfc7748-x25519.json')
const wycheX25519 = fixture<{
  testGroups: {
    tests: { tcId: number; public: string; private: string; shared: string; flags: string[] }[]
  }[]
}>('wycheproof-x25519-edge.json')
const rfc8032 = fixture<{
  vectors: {
    name: string
    secret_key: string
    public_key: string
    message: string
    signature: string
  }[]
}>('rfc8032-ed25519.json')
const wycheEd = fixture<{
  testGroups: {
    publicKey: { pk: string }
    tests: { tcId: number; msg: string; sig: string; result: string; comment: string }[]
  }[]
}>('wycheproof-ed25519.json')
const blake2bKat = fixture<{ vectors: { in: string; key: string; out: string }[] }>(
  'blake2b-kat.json',
)

const backends: BackendName[] = availableBackends()

describe('backend availability', () => {
  it('has node and noble everywhere, and sodium when sodium-native loads', () => {
    expect(backends).toContain('node')
    expect(backends).toContain('noble')
  })
})

describe.each(backends)('%s backend', (name) => {
  const b: CryptoBackend = getBackend(name)

  it('reports its name and a provider for every primitive', () => {
    expect(b.name).toBe(name)
    for (const p of Object.values(b.providers)) expect(['sodium', 'node', 'noble']).toContain(p)
  })

  describe('ChaCha20-Poly1305 (RFC 8439)', () => {
    it.each(aead.vectors.map((v) => [v.id, v] as const))('%s seals and opens', (_id, v) => {
      const sealed = b.seal(hex(v.key), hex(v.nonce), hex(v.plaintext!), hex(v.aad))
      expect(toHex(sealed)).toBe(v.ciphertext + v.tag)
      const opened = b.open(hex(v.key), hex(v.nonce), sealed, hex(v.aad))
      expect(opened && toHex(opened)).toBe(v.plaintext)
    })
    it.each(aead.derived_negative.map((v) => [v.id, v] as const))('%s is refused', (_id, v) => {
      expect(v.result).toBe('invalid')
      expect(
        b.open(hex(v.key), hex(v.nonce), hex(v.ciphertext + v.tag), hex(v.aad)),
      ).toBeUndefined()
    })
    it('refuses input shorter than a tag, and an empty ad is the default', () => {
      const key = new Uint8Array(32).fill(7)
      const nonce = new Uint8Array(12)
      for (let n = 0; n < 16; n++) expect(b.open(key, nonce, new Uint8Array(n))).toBeUndefined()
      const sealed = b.seal(key, nonce, new Uint8Array(0))
      expect(sealed.length).toBe(16)
      expect(b.open(key, nonce, sealed, new Uint8Array(0))).toEqual(new Uint8Array(0))
      expect(b.open(key, nonce, sealed, new Uint8Array(1))).toBeUndefined()
    })
    it('throws on bad arguments, naming them', () => {
      const k = new Uint8Array(32)
      const n = new Uint8Array(12)
      expect(() => b.seal(new Uint8Array(31), n, k)).toThrow(/key/)
      expect(() => b.seal(k, new Uint8Array(8), k)).toThrow(/nonce/)
      expect(() => b.open(k, new Uint8Array(13), k)).toThrow(RangeError)
      expect(() => b.seal(k, n, 'x' as unknown as Uint8Array)).toThrow(TypeError)
    })
  })

  describe('X25519 (RFC 7748)', () => {
    it.each(rfc7748.scalar_mult.map((v) => [v.id, v] as const))('%s', (_id, v) => {
      expect(toHex(b.x25519(hex(v.scalar), hex(v.u_coordinate))!)).toBe(v.output)
    })
    it('iterated test, 1 and 1000 steps (the 1,000,000-step one is too slow for a unit test)', () => {
      let k: Uint8Array = new Uint8Array(32)
      k[0] = 9
      let u: Uint8Array = k.slice()
      let step = 0
      for (const want of rfc7748.iterated.filter((v) => v.iterations <= 1000)) {
        for (; step < want.iterations; step++) {
          const next = b.x25519(k, u)!
          u = k
          k = next
        }
        expect(toHex(k)).toBe(want.k_after)
      }
    })
    it('Diffie-Hellman (§6.1)', () => {
      const e = rfc7748.ecdh
      expect(toHex(b.x25519PublicKey(hex(e.alice_private!)))).toBe(e.alice_public)
      expect(toHex(b.x25519PublicKey(hex(e.bob_private!)))).toBe(e.bob_public)
      expect(toHex(b.x25519(hex(e.alice_private!), hex(e.bob_public!))!)).toBe(e.shared_secret)
      expect(toHex(b.x25519(hex(e.bob_private!), hex(e.alice_public!))!)).toBe(e.shared_secret)
    })
    it('Wycheproof edge cases: zero shared secrets are refused, the rest match', () => {
      let refused = 0
      for (const g of wycheX25519.testGroups) {
        for (const t of g.tests) {
          const got = b.x25519(hex(t.private), hex(t.public))
          if (/^(00)+$/.test(t.shared)) {
            expect(got, `tcId ${t.tcId}`).toBeUndefined()
            refused++
          } else {
            expect(got && toHex(got), `tcId ${t.tcId}`).toBe(t.shared)
          }
        }
      }
      expect(refused).toBe(31)
    })
    it('generates working key pairs', () => {
      const a = b.x25519Generate()
      const c = b.x25519Generate()
      expect(a.privateKey.length).toBe(32)
      expect(b.x25519PublicKey(a.privateKey)).toEqual(a.publicKey)
      expect(b.x25519(a.privateKey, c.publicKey)).toEqual(b.x25519(c.privateKey, a.publicKey))
    })
    it('a key array modified after use gives results for its new bytes', () => {
      const a = b.x25519Generate()
      const peer = b.x25519Generate()
      const priv = a.privateKey
      const first = b.x25519(priv, peer.publicKey)!
      priv[5]! ^= 1
      const second = b.x25519(priv, peer.publicKey)!
      expect(second).not.toEqual(first)
      expect(second).toEqual(b.x25519(peer.privateKey, b.x25519PublicKey(priv)))
    })
  })

  describe('Ed25519 (RFC 8032)', () => {
    it.each(rfc8032.vectors.map((v) => [v.name, v] as const))('%s', (_n, v) => {
      const seed = hex(v.secret_key)
      expect(toHex(b.ed25519PublicKey(seed))).toBe(v.public_key)
      expect(toHex(b.ed25519Sign(seed, hex(v.message)))).toBe(v.signature)
      expect(b.ed25519Verify(hex(v.public_key), hex(v.message), hex(v.signature))).toBe(true)
    })
    it('Wycheproof: all 151 verify results match', () => {
      let n = 0
      for (const g of wycheEd.testGroups) {
        const pk = hex(g.publicKey.pk)
        for (const t of g.tests) {
          const ok = b.ed25519Verify(pk, hex(t.msg), hex(t.sig))
          expect(ok, `tcId ${t.tcId} ${t.comment}`).toBe(t.result === 'valid')
          n++
        }
      }
      expect(n).toBe(151)
    })
    it('refuses small-order keys and R, and non-canonical keys (the shared policy)', () => {
      const identity = new Uint8Array(32)
      identity[0] = 1
      const sigIdentity = new Uint8Array(64)
      sigIdentity[0] = 1
      // A = identity, R = identity, S = 0 satisfies the verification equation for any message.
      expect(b.ed25519Verify(identity, new Uint8Array([1, 2, 3]), sigIdentity)).toBe(false)
      // A real key and signature, with R replaced by a small-order point.
      const v = rfc8032.vectors[0]!
      const sig = hex(v.signature)
      sig.set(identity, 0)
      expect(b.ed25519Verify(hex(v.public_key), hex(v.message), sig)).toBe(false)
      // A non-canonical key encoding (y = p + 2 encodes the same y as 2).
      const nonCanonical = hex('efffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f')
      expect(b.ed25519Verify(nonCanonical, new Uint8Array(0), hex(v.signature))).toBe(false)
    })
    it('never throws on malformed input', () => {
      const v = rfc8032.vectors[1]!
      const pk = hex(v.public_key)
      const msg = hex(v.message)
      const sig = hex(v.signature)
      for (const [p, s] of [
        [pk.subarray(1), sig],
        [pk, sig.subarray(1)],
        [new Uint8Array(0), new Uint8Array(0)],
        [new Uint8Array(32).fill(0xff), sig],
        [pk, new Uint8Array(64).fill(0xff)],
        [pk, new Uint8Array(65)],
      ] as const) {
        expect(b.ed25519Verify(p, msg, s)).toBe(false)
      }
      expect(b.ed25519Verify('x' as unknown as Uint8Array, msg, sig)).toBe(false)
      expect(b.ed25519Verify(pk, msg, null as unknown as Uint8Array)).toBe(false)
    })
  })

  describe('BLAKE2b', () => {
    it('passes all 512 official KATs (unkeyed and keyed)', () => {
      for (const [i, v] of blake2bKat.vectors.entries()) {
        const key = v.key === '' ? undefined : hex(v.key)
        expect(toHex(b.blake2b(hex(v.in), 64, key)), `entry ${i}`).toBe(v.out)
      }
    })
    it('output length and key are part of the hash; empty key means unkeyed', () => {
      const d = new Uint8Array([1, 2, 3])
      expect(b.blake2b(d, 32)).not.toEqual(b.blake2b(d).subarray(0, 32))
      expect(b.blake2b(d, 64, new Uint8Array(0))).toEqual(b.blake2b(d))
      for (const n of [1, 15, 16, 33, 64]) expect(b.blake2b(d, n).length).toBe(n)
      // BLAKE2b-256 of "abc" (RFC 7693 gives BLAKE2b-512; this value is the libb2 one).
      expect(toHex(b.blake2b(new TextEncoder().encode('abc'), 32))).toBe(
        'bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319',
      )
      expect(() => b.blake2b(d, 0)).toThrow(RangeError)
      expect(() => b.blake2b(d, 65)).toThrow(RangeError)
      expect(() => b.blake2b(d, 64, new Uint8Array(65))).toThrow(RangeError)
    })
    it('HMAC-BLAKE2b uses a 128-byte block (RFC 2104 computed by hand)', () => {
      const key = new Uint8Array(200).map((_, i) => i)
      const data = new TextEncoder().encode('noise')
      for (const k of [key.subarray(0, 0), key.subarray(0, 32), key.subarray(0, 128), key]) {
        const k0 = new Uint8Array(128)
        k0.set(k.length > 128 ? b.blake2b(k) : k)
        const ipad = k0.map((x) => x ^ 0x36)
        const opad = k0.map((x) => x ^ 0x5c)
        const inner = b.blake2b(Uint8Array.from([...ipad, ...data]))
        const want = b.blake2b(Uint8Array.from([...opad, ...inner]))
        expect(b.hmacBlake2b(k, data)).toEqual(want)
      }
    })
  })

  describe('SHA-2, SHA-3, SHAKE256', () => {
    const abc = new TextEncoder().encode('abc')
    it('known answers for "abc"', () => {
      expect(toHex(b.sha256(abc))).toBe(
        'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      )
      expect(toHex(b.sha512(abc))).toBe(
        'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
      )
      expect(toHex(b.sha3_256(abc))).toBe(
        '3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532',
      )
      expect(toHex(b.shake256(abc))).toBe(
        '483366601360a8771c6863080cc4114d8db44530f8f1e1ee4f94ea37e78b5739',
      )
      expect(b.shake256(abc, 64).subarray(0, 32)).toEqual(b.shake256(abc))
    })
  })

  it('randomBytes gives fresh bytes of the asked length', () => {
    expect(b.randomBytes(0).length).toBe(0)
    const a = b.randomBytes(32)
    expect(a.length).toBe(32)
    expect(b.randomBytes(32)).not.toEqual(a)
    expect(() => b.randomBytes(-1)).toThrow(RangeError)
  })

  it('returns plain Uint8Arrays, never Buffers', () => {
    const k = new Uint8Array(32)
    const outs = [
      b.seal(k, new Uint8Array(12), k),
      b.blake2b(k),
      b.hmacBlake2b(k, k),
      b.sha256(k),
      b.sha3_256(k),
      b.shake256(k),
      b.ed25519Sign(k, k),
      b.x25519PublicKey(k),
      b.randomBytes(4),
    ]
    for (const o of outs) expect(Object.getPrototypeOf(o)).toBe(Uint8Array.prototype)
  })
})

describe('hkdfBlake2b (Noise §4.3)', () => {
  it.each(backends)('chains HMAC outputs as Noise defines (%s)', (name) => {
    const b = getBackend(name)
    const ck = new Uint8Array(64).fill(3)
    const ikm = new Uint8Array(32).fill(4)
    const [o1, o2, o3] = hkdfBlake2b(ck, ikm, 3, b)
    const temp = b.hmacBlake2b(ck, ikm)
    expect(o1).toEqual(b.hmacBlake2b(temp, Uint8Array.of(1)))
    expect(o2).toEqual(b.hmacBlake2b(temp, Uint8Array.of(...o1!, 2)))
    expect(o3).toEqual(b.hmacBlake2b(temp, Uint8Array.of(...o2!, 3)))
    expect(hkdfBlake2b(ck, ikm, 2, b)).toEqual([o1, o2])
    expect(() => hkdfBlake2b(ck, ikm, 4 as 2, b)).toThrow(RangeError)
  })
})
