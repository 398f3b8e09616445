/**
 * PeerIDs of keys, as go-p2p's `DefaultFingerprinter` (s/p2pkeswarm/option.go): a PeerID is a hash of the
 * key, so an address `<PeerID>@<inner>` names exactly one key.
 */
import { PeerID } from '../../core/index.js'
import { type CryptoBackend, defaultBackend } from '../../crypto/index.js'
import { type PublicKey, marshalPublicKey } from '../../f/x509/index.js'

/**
 * PeerID of a key as go-p2p's `DefaultFingerprinter`: SHAKE256 of the key's DER
 * SubjectPublicKeyInfo (`marshalPublicKey`), 32 bytes of output.
 */
export function fingerprintPublicKey(
  key: PublicKey,
  backend: CryptoBackend = defaultBackend(),
): PeerID {
  return new PeerID(backend.shake256(marshalPublicKey(key), 32))
}
