/**
 * Public and private keys as go-p2p's `f/x509` encodes them: an algorithm OID and the key
 * bytes, marshalled as the DER of `SEQUENCE { AlgorithmIdentifier { OID }, BIT STRING data }`.
 * For a public key that is the X.509 SubjectPublicKeyInfo (RFC 5280 §4.1.2.7; for Ed25519,
 * RFC 8410 §4). go-p2p marshals private keys in the same shape (not PKCS#8); so does this module.
 *
 * Parsing is strict DER: definite minimal lengths, no trailing bytes, no algorithm parameters
 * (RFC 8410 requires them absent, and go-p2p never writes them), and a BIT STRING with zero
 * unused bits. Malformed bytes throw `BadMessageError` (code `ERR_BAD_MESSAGE`) and nothing else.
 */
import { BadMessageError } from '../../core/index.js'
import {
  concatBytes,
  DerReader,
  derEncode,
  oidContent,
  parseOIDContent,
  TAG_BIT_STRING,
  TAG_OID,
  TAG_SEQUENCE,
} from './der.js'

/** The OID of Ed25519 keys (RFC 8410 §3). */
export const ED25519_OID = '1.3.101.112'
/** The OID of Ed448 keys (RFC 8410 §3); no signing algorithm is registered for it. */
export const ED448_OID = '1.3.101.113'

/** A public key: the algorithm's OID in dotted text (e.g. `1.3.101.112`) and the key bytes. */
export interface PublicKey {
  readonly algorithm: string
  readonly data: Uint8Array
}

/** A private key: the algorithm's OID in dotted text and the key bytes (Ed25519: the 32-byte seed). */
export interface PrivateKey {
  readonly algorithm: string
  readonly data: Uint8Array
}

function marshal(algorithm: string, data: Uint8Array): Uint8Array {
  if (!(data instanceof Uint8Array)) throw new TypeError('data must be a Uint8Array')
  const algId = derEncode(TAG_SEQUENCE, derEncode(TAG_OID, oidContent(algorithm)))
  const bits = derEncode(TAG_BIT_STRING, concatBytes(Uint8Array.of(0), data))
  return derEncode(TAG_SEQUENCE, concatBytes(algId, bits))
}

function parse(der: Uint8Array, what: string): { algorithm: string; data: Uint8Array } {
  if (!(der instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`)
  const outer = new DerReader(der)
  const body = new DerReader(outer.read(TAG_SEQUENCE, what))
  outer.end(what)
  const algId = new DerReader(body.read(TAG_SEQUENCE, 'AlgorithmIdentifier'))
  const algorithm = parseOIDContent(algId.read(TAG_OID, 'algorithm OID'))
  if (!algId.done) throw new BadMessageError('DER: algorithm parameters are not supported')
  const bits = body.read(TAG_BIT_STRING, 'key BIT STRING')
  body.end(what)
  if (bits.length === 0) throw new BadMessageError('DER: empty BIT STRING')
  if (bits[0] !== 0) throw new BadMessageError('DER: key BIT STRING has unused bits')
  return { algorithm, data: bits.slice(1) }
}

/**
 * The DER SubjectPublicKeyInfo of `key` (go-p2p `x509.MarshalPublicKey`). Throws `TypeError`
 * for an invalid OID. SHAKE256-256 of these bytes is a peer's fingerprint (PeerID).
 */
export function marshalPublicKey(key: PublicKey): Uint8Array {
  return marshal(key.algorithm, key.data)
}

/**
 * Parses a DER SubjectPublicKeyInfo (go-p2p `x509.ParsePublicKey`). The result owns its
 * bytes (no view into `der`). Throws `BadMessageError` for anything but one well-formed key;
 * it does not check that the algorithm is known or the key valid (see `SigningRegistry`).
 */
export function parsePublicKey(der: Uint8Array): PublicKey {
  return parse(der, 'SubjectPublicKeyInfo')
}

/** The DER of a private key, in go-p2p's shape (the same as a public key's). */
export function marshalPrivateKey(key: PrivateKey): Uint8Array {
  return marshal(key.algorithm, key.data)
}

/** Parses a private key marshalled by `marshalPrivateKey` (or go-p2p). Errors as `parsePublicKey`. */
export function parsePrivateKey(der: Uint8Array): PrivateKey {
  return parse(der, 'private key')
}

/** True when two public keys have the same algorithm and bytes. */
export function publicKeyEqual(a: PublicKey, b: PublicKey): boolean {
  if (a.algorithm !== b.algorithm || a.data.length !== b.data.length) return false
  for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i]) return false
  return true
}

/** True when two private keys have the same algorithm and bytes (compared in constant time). */
export function privateKeyEqual(a: PrivateKey, b: PrivateKey): boolean {
  if (a.algorithm !== b.algorithm || a.data.length !== b.data.length) return false
  let diff = 0
  for (let i = 0; i < a.data.length; i++) diff |= a.data[i]! ^ b.data[i]!
  return diff === 0
}
