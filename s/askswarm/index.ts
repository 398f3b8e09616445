export {
  AskSwarm,
  DEFAULT_MAX_ASK_SIZE,
  DEFAULT_MAX_TIMEOUT_MS,
  DEFAULT_REPLY_FACTOR,
  DEFAULT_REPLY_WINDOW_MS,
  DEFAULT_TIMEOUT_MS,
  SecureAskSwarm,
  newAskSwarm,
} from './askswarm.js'
export type { AddrOf, AskSwarmOf, AskSwarmOptions, AskSwarmStats } from './askswarm.js'
export { ReplyBudget } from './budget.js'
export type { ReplyBudgetOptions } from './budget.js'
export { RequestTable } from './cache.js'
export type {
  Answer,
  BudgetRefusal,
  Entry,
  ErrorAnswer,
  GoneReason,
  Replies,
  TableCounters,
  TableLimits,
  TableUsage,
} from './cache.js'
export type { AskOptions, ClientCounters, ClientDrops } from './client.js'
export { Assembly, Bitset, partOf } from './reassembly.js'
export type { AddResult } from './reassembly.js'
export {
  DEFAULT_INITIAL_RTO_MS,
  DEFAULT_MAX_RTO_MS,
  DEFAULT_MIN_RTO_MS,
  RttEstimator,
  RttTable,
  resolveRttOptions,
} from './rtt.js'
export type { RttOptions } from './rtt.js'
export { MIN_ACK_BITMAP_BYTES, MIN_RESENDS } from './server.js'
export type { ServerCounters, ServerDrops } from './server.js'
export {
  ACK_HEADER_SIZE,
  CANCEL_SIZE,
  ERROR_HEADER_SIZE,
  ErrorCode,
  FLAG_ACK_REQUESTED,
  FLAG_COMPLETE,
  FLAG_UNKNOWN,
  Kind,
  MAX_PARTS,
  MAX_REASON_BYTES,
  POLL_HEADER_SIZE,
  REQUEST_HEADER_SIZE,
  RESPONSE_HEADER_SIZE,
  TELL_HEADER_SIZE,
  WireId,
  encodeAck,
  encodeCancel,
  encodeError,
  encodePoll,
  encodeRequestHeader,
  encodeResponseHeader,
  parseFrame,
  partCount,
  partSize,
} from './wire.js'
export type {
  AckFrame,
  AskId,
  CancelFrame,
  ErrorFrame,
  Frame,
  MalformedReason,
  PartFields,
  PollFrame,
  RequestFrame,
  ResponseFrame,
  TellFrame,
} from './wire.js'
