/**
 * The node:crypto backend (OpenSSL inside Node; always present, no native addon).
 *
 * node:crypto computes ChaCha20-Poly1305, X25519, Ed25519, unkeyed BLAKE2b-512, HMAC-BLAKE2b,
 * SHA-2, SHA-3, SHAKE256 and random bytes. BLAKE2b with other output lengths or with a key
 * comes from @noble/hashes (OpenSSL's `blake2b512` digest has neither).
 *
 * Keys: node:crypto works on KeyObjects. Importing a raw private key goes through PKCS#8 DER,
 * which costs up to ~1 ms on Node 20, so private KeyObjects are cached by key array (see
 * `KeyCache`); a generated X25519 key pair is imported through JWK, where both halves are
 * known (~40 µs). Public keys are imported through JWK and cached the same way.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type JsonWebKey,
  type KeyObject,
  randomFillSync,
  sign,
  verify,
} from 'node:crypto'
import { blake2b as nobleBlake2b } from '@noble/hashes/blake2.js'
import {
  AEAD_TAG_SIZE,
  type CryptoBackend,
  type RawBackend,
  wrapBackend,
  type X25519KeyPair,
} from './backend.js'
import { KeyCache } from './keycache.js'

// PKCS#8 PrivateKeyInfo prefixes (RFC 8410 §7) for a 32-byte raw private key.
const X25519_PKCS8_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20,
])
const ED25519_PKCS8_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
])

function importPrivate(prefix: Uint8Array, raw: Uint8Array): KeyObject {
  const der = new Uint8Array(prefix.length + raw.length)
  der.set(prefix)
  der.set(raw, prefix.length)
  try {
    return createPrivateKey({
      key: Buffer.from(der.buffer, der.byteOffset, der.byteLength),
      format: 'der',
      type: 'pkcs8',
    })
  } finally {
    der.fill(0)
  }
}

function importPublic(crv: 'X25519' | 'Ed25519', raw: Uint8Array): KeyObject {
  return createPublicKey({
    key: { kty: 'OKP', crv, x: Buffer.from(raw).toString('base64url') },
    format: 'jwk',
  })
}

function exportRaw(key: KeyObject, field: 'x' | 'd'): Uint8Array {
  const jwk = key.export({ format: 'jwk' })
  const value = jwk[field]
  if (typeof value !== 'string') throw new Error(`node:crypto exported no JWK "${field}"`)
  return new Uint8Array(Buffer.from(value, 'base64url'))
}

/** ChaCha20-Poly1305 sealing with node:crypto (arguments already checked). */
export function nodeSeal(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  ad: Uint8Array,
): Uint8Array {
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: AEAD_TAG_SIZE })
  c.setAAD(ad, { plaintextLength: plaintext.length })
  const out = new Uint8Array(plaintext.length + AEAD_TAG_SIZE)
  const body = c.update(plaintext)
  out.set(body)
  out.set(c.final(), body.length)
  out.set(c.getAuthTag(), plaintext.length)
  return out
}

/** ChaCha20-Poly1305 opening with node:crypto; throws when the tag does not verify. */
export function nodeOpen(
  key: Uint8Array,
  nonce: Uint8Array,
  sealed: Uint8Array,
  ad: Uint8Array,
): Uint8Array {
  const n = sealed.length - AEAD_TAG_SIZE
  const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: AEAD_TAG_SIZE })
  d.setAuthTag(sealed.subarray(n))
  d.setAAD(ad, { plaintextLength: n })
  const out = new Uint8Array(n)
  const body = d.update(sealed.subarray(0, n))
  out.set(body)
  // final() throws when the tag does not verify; the wrapper turns that into undefined.
  out.set(d.final(), body.length)
  return out
}

/** The node:crypto backend. */
export function nodeBackend(): CryptoBackend {
  const x25519Private = new KeyCache((k) => importPrivate(X25519_PKCS8_PREFIX, k))
  const x25519Public = new KeyCache((k) => importPublic('X25519', k))
  const ed25519Private = new KeyCache((k) => importPrivate(ED25519_PKCS8_PREFIX, k))
  const ed25519Public = new KeyCache((k) => importPublic('Ed25519', k))

  const raw: RawBackend = {
    randomBytes(n) {
      return randomFillSync(new Uint8Array(n))
    },
    seal: nodeSeal,
    open: nodeOpen,
    x25519Generate(): X25519KeyPair {
      // Node 20 can deadlock when a KeyObject made by generateKeyPairSync is exported while
      // garbage collection finalizes that key's generation job (the job's destructor takes the
      // mutex the export holds; reproduced here under GC pressure). So the job itself encodes
      // the keys as JWK, and the private KeyObject is imported afresh from that JWK.
      const pair = generateKeyPairSync('x25519', {
        publicKeyEncoding: { format: 'jwk' },
        privateKeyEncoding: { format: 'jwk' },
      })
      // @types/node 20 lacks the JWK overload; the runtime check below guards the cast.
      const jwk = (pair as unknown as { privateKey: JsonWebKey }).privateKey
      if (typeof jwk.d !== 'string' || typeof jwk.x !== 'string') {
        throw new Error('node:crypto generated an X25519 JWK without "d" or "x"')
      }
      const privateKey = new Uint8Array(Buffer.from(jwk.d, 'base64url'))
      const publicKey = new Uint8Array(Buffer.from(jwk.x, 'base64url'))
      x25519Private.set(privateKey, createPrivateKey({ key: jwk, format: 'jwk' }))
      return { privateKey, publicKey }
    },
    x25519PublicKey(privateKey) {
      return exportRaw(createPublicKey(x25519Private.get(privateKey)), 'x')
    },
    x25519(privateKey, publicKey) {
      // OpenSSL refuses an all-zero result by throwing; the wrapper maps it to undefined.
      const shared = diffieHellman({
        privateKey: x25519Private.get(privateKey),
        publicKey: x25519Public.get(publicKey),
      })
      return new Uint8Array(shared)
    },
    ed25519PublicKey(seed) {
      return exportRaw(createPublicKey(ed25519Private.get(seed)), 'x')
    },
    ed25519Sign(seed, message) {
      return new Uint8Array(sign(null, message, ed25519Private.get(seed)))
    },
    ed25519Verify(publicKey, message, signature) {
      return verify(null, message, ed25519Public.get(publicKey), signature)
    },
    blake2b(data, outLen = 64, key) {
      if (outLen === 64 && key === undefined) {
        return new Uint8Array(createHash('blake2b512').update(data).digest())
      }
      return nobleBlake2b(data, { dkLen: outLen, key })
    },
    hmacBlake2b(key, data) {
      // OpenSSL's HMAC uses the digest's block size, 128 bytes for BLAKE2b-512, as Noise does.
      return new Uint8Array(createHmac('blake2b512', key).update(data).digest())
    },
    sha256(data) {
      return new Uint8Array(createHash('sha256').update(data).digest())
    },
    sha512(data) {
      return new Uint8Array(createHash('sha512').update(data).digest())
    },
    sha3_256(data) {
      return new Uint8Array(createHash('sha3-256').update(data).digest())
    },
    shake256(data, outLen = 32) {
      return new Uint8Array(createHash('shake256', { outputLength: outLen }).update(data).digest())
    },
  }
  return wrapBackend(
    'node',
    {
      aead: 'node',
      x25519: 'node',
      ed25519: 'node',
      blake2b: 'node',
      hmacBlake2b: 'node',
      sha2: 'node',
      sha3: 'node',
      random: 'node',
    },
    raw,
  )
}
