import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isBadMessageError } from '../../core/index.js'
import { availableBackends, getBackend } from '../../crypto/index.js'
import {
  defaultRegistry,
  ED448_OID,
  ED25519_OID,
  ed25519Algorithm,
  isValidOID,
  marshalPrivateKey,
  marshalPublicKey,
  parsePrivateKey,
  parsePublicKey,
  privateKeyEqual,
  publicKeyEqual,
  SigningRegistry,
} from './index.js'

function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../../fixtures/${name}`, import.meta.url), 'utf8')) as T
}
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'))
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

const presigFx = fixture<{
  signing_key: {
    ed25519_secret_seed: string
    ed25519_public_key: string
    key_x509_spki_der: string
  }
}>('p2pke-presig-derived.json')
const wycheEd = fixture<{ testGroups: { publicKey: { pk: string }; publicKeyDer: string }[] }>(
  'wycheproof-ed25519.json',
)
const rfc8032 = fixture<{
  vectors: { secret_key: string; public_key: string; message: string; signature: string }[]
}>('rfc8032-ed25519.json')

/** Runs `f`; passes when it returns or throws a BadMessageError, fails on any other throw. */
function onlyBadMessage(f: () => unknown): 'ok' | 'bad' {
  try {
    f()
    return 'ok'
  } catch (e) {
    if (!isBadMessageError(e)) throw e
    return 'bad'
  }
}

const oidArb = fc
  .tuple(
    fc.integer({ min: 0, max: 2 }),
    fc.integer({ min: 0, max: 1000 }),
    fc.array(fc.oneof(fc.integer({ min: 0, max: 300 }), fc.bigInt({ min: 0n, max: 2n ** 70n })), {
      maxLength: 6,
    }),
  )
  .map(([a, b, rest]) => [a, a < 2 ? b % 40 : b, ...rest].join('.'))

const keyArb = fc.record({ algorithm: oidArb, data: fc.uint8Array({ maxLength: 400 }) })

describe('x509 key encoding', () => {
  it('the SPKI of the RFC 8032 TEST 1 key is the one go-p2p writes (fixture)', () => {
    const der = marshalPublicKey({
      algorithm: ED25519_OID,
      data: hex(presigFx.signing_key.ed25519_public_key),
    })
    expect(toHex(der)).toBe(presigFx.signing_key.key_x509_spki_der)
    const back = parsePublicKey(der)
    expect(back.algorithm).toBe(ED25519_OID)
    expect(toHex(back.data)).toBe(presigFx.signing_key.ed25519_public_key)
  })

  it('matches the SubjectPublicKeyInfo of every Wycheproof Ed25519 key', () => {
    for (const g of wycheEd.testGroups) {
      expect(toHex(marshalPublicKey({ algorithm: ED25519_OID, data: hex(g.publicKey.pk) }))).toBe(
        g.publicKeyDer,
      )
    }
  })

  it('marshals private keys in the same shape as public keys (go-p2p), seed as data', () => {
    const seed = hex(presigFx.signing_key.ed25519_secret_seed)
    const der = marshalPrivateKey({ algorithm: ED25519_OID, data: seed })
    expect(toHex(der)).toBe(`302a300506032b6570032100${toHex(seed)}`)
    expect(privateKeyEqual(parsePrivateKey(der), { algorithm: ED25519_OID, data: seed })).toBe(true)
  })

  it('round-trips any OID and any data (long-form lengths included)', () => {
    fc.assert(
      fc.property(keyArb, (key) => {
        const der = marshalPublicKey(key)
        const back = parsePublicKey(der)
        expect(back.algorithm).toBe(key.algorithm)
        expect(back.data).toEqual(key.data)
        expect(publicKeyEqual(back, key)).toBe(true)
        expect(parsePrivateKey(marshalPrivateKey(key)).data).toEqual(key.data)
      }),
      { numRuns: 300 },
    )
  })

  it('parsed keys own their bytes', () => {
    const der = marshalPublicKey({ algorithm: ED25519_OID, data: new Uint8Array(32).fill(5) })
    const key = parsePublicKey(der)
    der.fill(0)
    expect(key.data).toEqual(new Uint8Array(32).fill(5))
  })

  it('random bytes only ever parse or throw BadMessageError; what parses is canonical', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        let parsed: ReturnType<typeof parsePublicKey> | undefined
        onlyBadMessage(() => {
          parsed = parsePublicKey(bytes)
        })
        if (parsed !== undefined) expect(marshalPublicKey(parsed)).toEqual(bytes)
      }),
      { numRuns: 2000 },
    )
  })

  it('every truncation and extension of a valid encoding is refused', () => {
    fc.assert(
      fc.property(keyArb, fc.uint8Array({ minLength: 1, maxLength: 4 }), (key, extra) => {
        const der = marshalPublicKey(key)
        for (let n = 0; n < der.length; n++) {
          expect(onlyBadMessage(() => parsePublicKey(der.subarray(0, n)))).toBe('bad')
        }
        expect(onlyBadMessage(() => parsePublicKey(Uint8Array.from([...der, ...extra])))).toBe(
          'bad',
        )
      }),
      { numRuns: 100 },
    )
  })

  it('every one-byte mutation either is refused or parses to exactly those bytes', () => {
    fc.assert(
      fc.property(keyArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (key, at, x) => {
        const der = marshalPublicKey(key)
        const bad = der.slice()
        bad[at % bad.length]! ^= x
        let parsed: ReturnType<typeof parsePublicKey> | undefined
        onlyBadMessage(() => {
          parsed = parsePublicKey(bad)
        })
        if (parsed !== undefined) {
          expect(marshalPublicKey(parsed)).toEqual(bad)
          expect(publicKeyEqual(parsed, key)).toBe(false)
        }
      }),
      { numRuns: 500 },
    )
  })

  const pk = '00'.repeat(32)
  it.each([
    ['trailing byte', `302a300506032b6570032100${pk}00`],
    ['non-minimal long length', `30812a300506032b6570032100${pk}`],
    ['long length with a leading zero', `3082002a300506032b6570032100${pk}`],
    ['indefinite length', `3080300506032b6570032100${pk}0000`],
    ['five length bytes', `30850000002a300506032b6570032100${pk}`],
    ['length past the end', `302b300506032b6570032100${pk}`],
    ['algorithm parameters (NULL)', `302c300706032b65700500032100${pk}`],
    ['BIT STRING with unused bits', `302a300506032b6570032103${pk}`],
    ['empty BIT STRING', '3009300506032b65700300'],
    ['empty OID', '3006300206000300'],
    [
      ['non-minimal OID arc', `302b30060604802b6570032100${pk}`],
      `302b3006060480812b70032100${pk}`.replace('3006060480812b70', '30060604802b6570'),
    ],
    ['truncated OID arc', `302a300506032b65f0032100${pk}`],
    ['OID tag wrong', `302a300505032b6570032100${pk}`],
    ['BIT STRING tag wrong', `302a300506032b6570042100${pk}`],
    ['outer tag wrong', `312a300506032b6570032100${pk}`],
    ['two keys back to back', `302a300506032b6570032100${pk}302a300506032b6570032100${pk}`],
    ['extra element in the SEQUENCE', `302c300506032b6570032100${pk}0500`],
    ['empty input', ''],
  ])('refuses %s with BadMessageError', (_name, h) => {
    expect(() => parsePublicKey(hex(h))).toThrow(
      expect.objectContaining({ code: 'ERR_BAD_MESSAGE' }),
    )
    expect(() => parsePrivateKey(hex(h))).toThrow(
      expect.objectContaining({ code: 'ERR_BAD_MESSAGE' }),
    )
  })

  it('throws TypeError for bad arguments (not network input)', () => {
    expect(() => marshalPublicKey({ algorithm: '1', data: new Uint8Array(1) })).toThrow(TypeError)
    expect(() => marshalPublicKey({ algorithm: '3.1', data: new Uint8Array(1) })).toThrow(TypeError)
    expect(() => marshalPublicKey({ algorithm: '1.40', data: new Uint8Array(1) })).toThrow(
      TypeError,
    )
    expect(() => marshalPublicKey({ algorithm: '1.02', data: new Uint8Array(1) })).toThrow(
      TypeError,
    )
    expect(() =>
      marshalPublicKey({ algorithm: ED25519_OID, data: [1] as unknown as Uint8Array }),
    ).toThrow(TypeError)
    expect(() => parsePublicKey('30' as unknown as Uint8Array)).toThrow(TypeError)
    expect(isValidOID(ED448_OID)).toBe(true)
    expect(isValidOID('2.999.1')).toBe(true)
    expect(isValidOID('1.2.')).toBe(false)
  })

  it('equality compares algorithm and bytes', () => {
    const a = { algorithm: ED25519_OID, data: new Uint8Array([1, 2]) }
    expect(publicKeyEqual(a, { algorithm: ED25519_OID, data: new Uint8Array([1, 2]) })).toBe(true)
    expect(publicKeyEqual(a, { algorithm: ED448_OID, data: new Uint8Array([1, 2]) })).toBe(false)
    expect(publicKeyEqual(a, { algorithm: ED25519_OID, data: new Uint8Array([1, 3]) })).toBe(false)
    expect(publicKeyEqual(a, { algorithm: ED25519_OID, data: new Uint8Array([1]) })).toBe(false)
    expect(privateKeyEqual(a, { algorithm: ED25519_OID, data: new Uint8Array([1, 3]) })).toBe(false)
  })
})

describe.each(availableBackends())('signing registry (%s backend)', (name) => {
  const registry = defaultRegistry(getBackend(name))

  it('signs and verifies the RFC 8032 vectors', () => {
    for (const v of rfc8032.vectors) {
      const priv = { algorithm: ED25519_OID, data: hex(v.secret_key) }
      const pub = registry.publicKeyFromPrivate(priv)
      expect(toHex(pub.data)).toBe(v.public_key)
      expect(toHex(registry.sign(priv, hex(v.message)))).toBe(v.signature)
      expect(registry.verify(pub, hex(v.message), hex(v.signature))).toBe(true)
      expect(registry.verify(pub, Uint8Array.of(...hex(v.message), 1), hex(v.signature))).toBe(
        false,
      )
    }
  })

  it('generates keys that work, and knows only Ed25519', () => {
    const priv = registry.generate()
    expect(priv.algorithm).toBe(ED25519_OID)
    const pub = registry.publicKeyFromPrivate(priv)
    const msg = new TextEncoder().encode('hello')
    expect(registry.verify(pub, msg, registry.sign(priv, msg))).toBe(true)
    expect(registry.oids()).toEqual([ED25519_OID])
    expect(registry.get(ED448_OID)).toBeUndefined()
  })

  it('refuses unknown algorithms and malformed keys with BadMessageError; verify never throws', () => {
    const msg = new Uint8Array(3)
    const ed448 = { algorithm: ED448_OID, data: new Uint8Array(57) }
    const code = expect.objectContaining({ code: 'ERR_BAD_MESSAGE' })
    expect(() => registry.sign(ed448, msg)).toThrow(code)
    expect(() => registry.publicKeyFromPrivate(ed448)).toThrow(code)
    expect(() => registry.generate(ED448_OID)).toThrow(code)
    expect(() => registry.checkPublicKey(ed448)).toThrow(code)
    expect(registry.verify(ed448, msg, new Uint8Array(114))).toBe(false)
    const short = { algorithm: ED25519_OID, data: new Uint8Array(31) }
    expect(() => registry.sign(short, msg)).toThrow(code)
    expect(() => registry.checkPublicKey(short)).toThrow(code)
    expect(registry.verify(short, msg, new Uint8Array(64))).toBe(false)
    expect(() => ed25519Algorithm(getBackend(name)).sign(ed448, msg)).toThrow(code)
    registry.checkPublicKey({ algorithm: ED25519_OID, data: new Uint8Array(32) })
  })

  it('refuses two algorithms with one OID', () => {
    const a = ed25519Algorithm(getBackend(name))
    expect(() => new SigningRegistry([a, a])).toThrow(TypeError)
  })
})
