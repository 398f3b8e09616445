export {
  DEFAULT_FRAG_MTU,
  DEFAULT_REASSEMBLY_TIMEOUT_MS,
  FragSwarm,
  SecureFragSwarm,
  newFragSwarm,
} from './fragswarm.js'
export type { FragSwarmOf, FragSwarmOptions, FragSwarmStats } from './fragswarm.js'
export type { AddrOf } from '../../core/index.js'
export { Reassembler } from './reassembly.js'
export type {
  AcceptResult,
  PartDropReason,
  ReassemblyCounters,
  ReassemblyLimits,
  ReassemblyUsage,
} from './reassembly.js'
export {
  MAX_HEADER_SIZE,
  MAX_MSG_ID,
  MAX_PARTS,
  encodeFragHeader,
  fragment,
  fragmentPayload,
  parseFragPart,
} from './wire.js'
export type { FragHeader, FragPart } from './wire.js'
