export * from './backend.js'
export { BLAKE2XB_MAX_LENGTH, blake2xb } from './blake2x.js'
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
