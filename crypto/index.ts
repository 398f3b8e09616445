export {
  AEAD_KEY_SIZE,
  AEAD_NONCE_SIZE,
  AEAD_TAG_SIZE,
  type BackendName,
  BLAKE2B_BLOCK_SIZE,
  BLAKE2B_MAX_SIZE,
  type CryptoBackend,
  ED25519_PUBLIC_KEY_SIZE,
  ED25519_SEED_SIZE,
  ED25519_SIGNATURE_SIZE,
  type Primitive,
  type Provider,
  X25519_KEY_SIZE,
  type X25519KeyPair,
} from './backend.js'
export { BLAKE2XB_MAX_LENGTH, blake2xb } from './blake2x.js'
export { hkdfBlake2b } from './hkdf.js'
export {
  MAX_PURPOSE_LENGTH,
  PRESIG_SIZE,
  presig,
  signWithPurpose,
  verifyWithPurpose,
} from './presig.js'
export {
  availableBackends,
  BACKEND_ENV_VAR,
  BACKEND_NAMES,
  defaultBackend,
  getBackend,
} from './select.js'
