export {
  type SecureStack,
  type StackOptions,
  generateKey,
  secureMemStack,
  secureMemMuxStack,
  secureUDPStack,
  secureUDPMuxStack,
} from './stack.js'
