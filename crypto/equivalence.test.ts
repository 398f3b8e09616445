import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { availableBackends, type CryptoBackend, getBackend } from './index.js'

// Every backend must produce the same bytes (and the same refusals) for the same inputs.
const backends: CryptoBackend[] = availableBackends().map(getBackend)
const [reference, ...others] = backends as [CryptoBackend, ...CryptoBackend[]]

const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max })
const key32 = bytes(32, 32)

// Public keys that give the all-zero shared secret (from the Wycheproof subset).
const lowOrder = (
  JSON.parse(
    readFileSync(new URL('../fixtures/wycheproof-x25519-edge.json', import.meta.url), 'utf8'),
  ) as { testGroups: { tests: { public: string; shared: string }[] }[] }
).testGroups
  .flatMap((g) => g.tests)
  .filter((t) => /^(00)+$/.test(t.shared))
  .map((t) => Uint8Array.from(Buffer.from(t.public, 'hex')))

function sameEverywhere<T>(f: (b: CryptoBackend) => T): void {
  const want = f(reference)
  for (const b of others) expect(f(b), b.name).toEqual(want)
}

describe('all backends compute identical bytes', () => {
  it('has at least the node and noble backends to compare', () => {
    expect(backends.length).toBeGreaterThanOrEqual(2)
  })

  it('ChaCha20-Poly1305 seal, open, and refusal of altered input', () => {
    fc.assert(
      fc.property(
        key32,
        bytes(12, 12),
        bytes(0, 300),
        bytes(0, 40),
        fc.nat(),
        (k, n, pt, ad, flip) => {
          sameEverywhere((b) => b.seal(k, n, pt, ad))
          const sealed = reference.seal(k, n, pt, ad)
          for (const b of backends) expect(b.open(k, n, sealed, ad)).toEqual(pt)
          const bad = sealed.slice()
          const bit = flip % (bad.length * 8)
          bad[bit >> 3]! ^= 1 << (bit & 7)
          for (const b of backends) expect(b.open(k, n, bad, ad)).toBeUndefined()
        },
      ),
      { numRuns: 200 },
    )
  })

  it('X25519 public keys and shared secrets (any 32 bytes, low-order included)', () => {
    fc.assert(
      fc.property(key32, fc.oneof(key32, fc.constantFrom(...lowOrder)), (priv, pub) => {
        sameEverywhere((b) => b.x25519PublicKey(priv))
        sameEverywhere((b) => b.x25519(priv, pub))
      }),
      { numRuns: 60 },
    )
  })

  it('Ed25519 public keys, signatures and verification', () => {
    fc.assert(
      fc.property(key32, bytes(0, 200), fc.nat(), (seed, msg, flip) => {
        sameEverywhere((b) => b.ed25519PublicKey(seed))
        sameEverywhere((b) => b.ed25519Sign(seed, msg))
        const pk = reference.ed25519PublicKey(seed)
        const sig = reference.ed25519Sign(seed, msg)
        for (const b of backends) expect(b.ed25519Verify(pk, msg, sig)).toBe(true)
        const bad = sig.slice()
        const bit = flip % 512
        bad[bit >> 3]! ^= 1 << (bit & 7)
        sameEverywhere((b) => b.ed25519Verify(pk, msg, bad))
      }),
      { numRuns: 40 },
    )
  })

  it('Ed25519 verification of random keys and signatures', () => {
    fc.assert(
      fc.property(bytes(30, 34), bytes(0, 40), bytes(62, 66), (pk, msg, sig) => {
        sameEverywhere((b) => b.ed25519Verify(pk, msg, sig))
      }),
      { numRuns: 100 },
    )
  })

  it('BLAKE2b with every output length and key length', () => {
    fc.assert(
      fc.property(bytes(0, 300), fc.integer({ min: 1, max: 64 }), bytes(0, 64), (d, n, k) => {
        sameEverywhere((b) => b.blake2b(d, n, k))
        sameEverywhere((b) => b.blake2b(d, n))
      }),
      { numRuns: 200 },
    )
  })

  it('HMAC-BLAKE2b with keys shorter and longer than a block', () => {
    fc.assert(
      fc.property(bytes(0, 300), bytes(0, 300), (k, d) => {
        sameEverywhere((b) => b.hmacBlake2b(k, d))
      }),
      { numRuns: 200 },
    )
  })

  it('SHA-256, SHA-512, SHA3-256 and SHAKE256', () => {
    fc.assert(
      fc.property(bytes(0, 300), fc.integer({ min: 0, max: 200 }), (d, n) => {
        sameEverywhere((b) => b.sha256(d))
        sameEverywhere((b) => b.sha512(d))
        sameEverywhere((b) => b.sha3_256(d))
        sameEverywhere((b) => b.shake256(d, n))
      }),
      { numRuns: 200 },
    )
  })

  it('inputs are not modified, and unaligned views work', () => {
    fc.assert(
      fc.property(bytes(40, 200), fc.integer({ min: 1, max: 7 }), (buf, off) => {
        const copy = buf.slice()
        const view = buf.subarray(off)
        const k = buf.subarray(off, off + 32)
        sameEverywhere((b) => [
          b.blake2b(view, 33),
          b.hmacBlake2b(view, view),
          b.seal(k, view.subarray(0, 12), view, view),
          b.ed25519Sign(k, view),
          b.sha3_256(view),
        ])
        expect(buf).toEqual(copy)
      }),
      { numRuns: 30 },
    )
  })
})
