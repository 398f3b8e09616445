import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  availableBackends,
  getBackend,
  presig,
  signWithPurpose,
  verifyWithPurpose,
} from './index.js'

interface PresigCase {
  purpose: string
  purpose_hex: string
  message: string
  xof_input: string
  presig_blake2xb_64: string
  blake2b_512_of_same_input_NOT_EQUAL: string
  ed25519_signature_over_presig: string
}
const fx = JSON.parse(
  readFileSync(new URL('../fixtures/p2pke-presig-derived.json', import.meta.url), 'utf8'),
) as {
  signing_key: { ed25519_secret_seed: string; ed25519_public_key: string }
  cases: PresigCase[]
}
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'))
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const seed = hex(fx.signing_key.ed25519_secret_seed)
const pub = hex(fx.signing_key.ed25519_public_key)

describe('presig (go-p2p createPreSig)', () => {
  it.each(fx.cases.map((c, i) => [i, c] as const))('case %i', (_i, c) => {
    const msg = hex(c.message)
    expect(toHex(new TextEncoder().encode(c.purpose))).toBe(c.purpose_hex)
    const p = presig(c.purpose, msg)
    expect(toHex(p)).toBe(c.presig_blake2xb_64)
    expect(toHex(p)).not.toBe(c.blake2b_512_of_same_input_NOT_EQUAL)
  })

  it('refuses a purpose over 255 UTF-8 bytes', () => {
    expect(presig('x'.repeat(255), new Uint8Array(0)).length).toBe(64)
    expect(() => presig('x'.repeat(256), new Uint8Array(0))).toThrow(RangeError)
    expect(() => presig('é'.repeat(128), new Uint8Array(0))).toThrow(RangeError)
  })
})

describe.each(availableBackends())('signWithPurpose / verifyWithPurpose (%s)', (name) => {
  const b = getBackend(name)
  it.each(fx.cases.map((c, i) => [i, c] as const))('case %i', (_i, c) => {
    const msg = hex(c.message)
    const sig = signWithPurpose(seed, c.purpose, msg, b)
    expect(toHex(sig)).toBe(c.ed25519_signature_over_presig)
    expect(verifyWithPurpose(pub, c.purpose, msg, sig, b)).toBe(true)
    expect(verifyWithPurpose(pub, `${c.purpose}x`, msg, sig, b)).toBe(false)
    expect(verifyWithPurpose(pub, c.purpose, Uint8Array.of(...msg, 0), sig, b)).toBe(false)
    // The signature is over the pre-hash, not the message itself.
    expect(b.ed25519Verify(pub, msg, sig)).toBe(false)
    expect(b.ed25519Verify(pub, presig(c.purpose, msg), sig)).toBe(true)
  })
  it('never throws on malformed keys and signatures', () => {
    const m = new Uint8Array(3)
    expect(verifyWithPurpose(pub.subarray(1), 'p', m, new Uint8Array(64), b)).toBe(false)
    expect(verifyWithPurpose(pub, 'p', m, new Uint8Array(10), b)).toBe(false)
    expect(
      verifyWithPurpose(pub, 'p', undefined as unknown as Uint8Array, new Uint8Array(64), b),
    ).toBe(false)
  })
})
