export { ManualClock } from './clock.js'
export { type Transform, composeTransforms, dropFirstPairwise, dropFirstTuple } from './faults.js'
export { type TestKeyPair, testKey } from './keys.js'
export {
  type Adjacency,
  chain,
  cluster,
  edgeCount,
  hubAndSpoke,
  randomRegular,
  ring,
  topologyTransform,
} from './topology.js'
export {
  type UDPEndpoint,
  type UDPImpairments,
  type UDPLink,
  UDPRelay,
  type UDPRelayOptions,
  type UDPRelayStats,
} from './udprelay.js'
export { type RelayedSwarms, ViaRelay, relayedUDPSwarms } from './relayed.js'
export { type WaitOptions, waitUntil } from './wait.js'
