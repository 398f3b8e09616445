export { P2PKEAddr, parseP2PKEAddr } from './addr.js'
export { defaultRateLimitKey } from './admission.js'
export { fingerprintPublicKey } from './fingerprint.js'
export {
  DEFAULT_HALF_OPEN_TIMEOUT_MS,
  DEFAULT_HANDSHAKE_WAIT_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_CHANNELS,
  DEFAULT_MAX_CHANNELS_PER_ADDR,
  DEFAULT_MAX_HALF_OPEN,
  DEFAULT_MAX_REMEMBERED_HELLOS,
  DEFAULT_MAX_WAITING_BYTES,
  DEFAULT_MAX_WAITING_TELLS,
  DEFAULT_RATE_LIMIT_ENTRIES,
  DEFAULT_REMEMBER_HELLOS_MS,
} from './options.js'
export type { AllowList, ChannelTuning, P2PKESwarmOptions } from './options.js'
export { P2PKESwarm, newP2PKESwarm } from './p2pkeswarm.js'
export type { P2PKEDropStats, P2PKESwarmStats } from './stats.js'
