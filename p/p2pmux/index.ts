export {
  AskMuxChannel,
  Mux,
  MuxChannel,
  SecureAskMuxChannel,
  SecureMuxChannel,
  newMux,
  newStringMux,
  newUint16Mux,
  newUint32Mux,
  newUint64Mux,
  newVarintMux,
} from './mux.js'
export type { ChannelOf, ChannelStats, MuxOptions, MuxStats } from './mux.js'
export type { AddrOf } from '../../core/index.js'
export { stringCodec, uint16Codec, uint32Codec, uint64Codec, varintCodec } from './wire.js'
export type { ChannelCodec, Decoded } from './wire.js'
