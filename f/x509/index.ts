export { isValidOID } from './der.js'
export {
  defaultRegistry,
  ed25519Algorithm,
  type SigningAlgorithm,
  SigningRegistry,
} from './registry.js'
export {
  ED448_OID,
  ED25519_OID,
  marshalPrivateKey,
  marshalPublicKey,
  type PrivateKey,
  type PublicKey,
  parsePrivateKey,
  parsePublicKey,
  privateKeyEqual,
  publicKeyEqual,
} from './x509.js'
