export {
  canonicalIP,
  type ParsedIP,
  parseBindAddr,
  parseIP,
  parseUDPAddr,
  UDPAddr,
} from './addr.js'
export {
  type BindAddr,
  DEFAULT_MTU,
  MAX_INCOMING_SIZE,
  MAX_PAYLOAD_IPV4,
  MAX_PAYLOAD_IPV6,
  UDPSwarm,
  type UDPSwarmOptions,
  type UDPSwarmStats,
} from './udpswarm.js'
