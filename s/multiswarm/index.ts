export { MultiAddr, SCHEME_PATTERN, isValidScheme, splitMultiAddr } from './addr.js'
export {
  AskMultiSwarm,
  MultiSwarm,
  SecureAskMultiSwarm,
  SecureMultiSwarm,
  newMultiSwarm,
} from './multiswarm.js'
export type {
  Children,
  MultiSwarmOf,
  MultiSwarmOptions,
  MultiSwarmStats,
  PubOf,
} from './multiswarm.js'
