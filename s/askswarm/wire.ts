/**
 * The askswarm wire format: one small header in front of every inner message. It is
 * swarmwire's own (go-p2p's `mbapp` neither retransmits nor acknowledges, so its 24-byte header
 * has nothing to carry acknowledgements in); see README.md for the picture.
 *
 * Every integer is big-endian and at a fixed offset. Every frame starts with a kind byte and
 * (except a tell) a flags byte; flag bits a kind does not define must be zero. `parseFrame`
 * checks every field before anything is allocated and never throws: one accepted header has
 * exactly one meaning.
 */

/** Kind byte of each frame. */
export const Kind = {
  /** A tell: `0x00 data`. */
  TELL: 0x00,
  /** A part of a request. */
  REQUEST: 0x01,
  /** A part of a response. */
  RESPONSE: 0x02,
  /** An error response. */
  ERROR: 0x03,
  /** The server's acknowledgement of request parts (or: "working on it", "unknown id"). */
  ACK: 0x04,
  /** The caller asks for the response parts it misses. */
  POLL: 0x05,
  /** The caller gave up: the server may abort the handler and forget the request. */
  CANCEL: 0x06,
} as const

/** Flag of REQUEST and RESPONSE parts: the last part of a burst; the peer should reply at once. */
export const FLAG_ACK_REQUESTED = 0x01
/** Flag of ACK: the whole request arrived (it is queued or being handled). No bitmap follows. */
export const FLAG_COMPLETE = 0x02
/** Flag of ACK: the server knows nothing of this request id. No bitmap follows. */
export const FLAG_UNKNOWN = 0x04

/** Bytes of the tell header: only the kind. An AskSwarm's mtu is the inner mtu minus this. */
export const TELL_HEADER_SIZE = 1
/** kind, flags, session (8), seq (4). */
const ID_END = 14
/** REQUEST: id, tx (2), timeoutMs (4), maxResponse (4), total (4), index (2), count (2). */
export const REQUEST_HEADER_SIZE = ID_END + 2 + 4 + 4 + 4 + 2 + 2
/** RESPONSE: id, echo (2), holdMs (4), total (4), index (2), count (2). */
export const RESPONSE_HEADER_SIZE = ID_END + 2 + 4 + 4 + 2 + 2
/** ERROR: id, echo (2), holdMs (4), code (1), size (4), limit (4), then the reason. */
export const ERROR_HEADER_SIZE = ID_END + 2 + 4 + 1 + 4 + 4
/** ACK: id, echo (2), holdMs (4), base (2), then a bitmap. */
export const ACK_HEADER_SIZE = ID_END + 2 + 4 + 2
/** POLL: id, tx (2), base (2), then a bitmap. */
export const POLL_HEADER_SIZE = ID_END + 2 + 2
/** CANCEL: id only. */
export const CANCEL_SIZE = ID_END

/** Most parts of one request or response (the count is a uint16). */
export const MAX_PARTS = 0xffff
/** Largest value of a uint32 field (sizes, timeouts). */
export const MAX_UINT32 = 0xffff_ffff
/** Longest error reason, in UTF-8 bytes. */
export const MAX_REASON_BYTES = 256
/** Largest session value (64 bits). */
export const MAX_SESSION = (1n << 64n) - 1n

/** Codes of an ERROR frame; each maps to an error class at the caller (see `askswarm.ts`). */
export const ErrorCode = {
  /** The handler threw: `AskError(reason)`. */
  HANDLER: 1,
  /** The response exceeds what the caller accepts: `ResponseTooLargeError(size, limit)`. */
  RESPONSE_TOO_LARGE: 2,
  /** The request exceeds what the server accepts: `MTUExceededError(size, limit)`. */
  REQUEST_TOO_LARGE: 3,
  /** The server has too many asks waiting: `BusyError(reason)`. */
  BUSY: 4,
  /** The ask expired in the server's queue before a handler took it: `TimeoutError(reason)`. */
  EXPIRED: 5,
  /** The server is closing: `UnreachableError`. */
  UNAVAILABLE: 6,
  /** The server ran the handler but evicted the answer before it was delivered: `AskError`. */
  ANSWER_LOST: 7,
} as const

/** Identifies one ask: the asker's session (random per AskSwarm) and a counter. */
export interface AskId {
  /** 64-bit random value chosen by each AskSwarm when it starts (and when `seq` wraps). */
  readonly session: bigint
  /** Counts up from 0 within a session. */
  readonly seq: number
}

/**
 * An `AskId` held as three uint32 numbers, as on the wire: what `parseFrame` returns and what
 * the client uses for its own ids, so that no BigInt is made per packet (`session` builds one
 * only when read). `key` is a short string naming the id, made once.
 */
export class WireId implements AskId {
  /** High and low 32 bits of the session. */
  readonly hi: number
  readonly lo: number
  readonly seq: number
  #key: string | undefined

  constructor(hi: number, lo: number, seq: number) {
    this.hi = hi
    this.lo = lo
    this.seq = seq
  }

  /** The id of `session` and `seq` (checked as `encode*` would). */
  static of(id: AskId): WireId {
    if (id instanceof WireId) return id
    checkSession(id.session)
    return new WireId(
      Number(id.session >> 32n),
      Number(id.session & 0xffff_ffffn),
      u32(id.seq, 'id.seq'),
    )
  }

  get session(): bigint {
    return (BigInt(this.hi) << 32n) | BigInt(this.lo)
  }

  /** Six UTF-16 code units, one per 16 bits of the id: a map key, never shown to anyone. */
  get key(): string {
    this.#key ??= String.fromCharCode(
      this.hi >>> 16,
      this.hi & 0xffff,
      this.lo >>> 16,
      this.lo & 0xffff,
      this.seq >>> 16,
      this.seq & 0xffff,
    )
    return this.#key
  }

  /** True when both name the same session (seq not compared). */
  sameSession(other: AskId): boolean {
    const o = WireId.of(other)
    return o.hi === this.hi && o.lo === this.lo
  }
}

/** Where a part sits in its message. Shape rules: see `partSize`. */
export interface PartFields {
  /** Size of the whole message in bytes. */
  readonly total: number
  /** Position of this part, `0 <= index < count`. */
  readonly index: number
  /** Number of parts, `1..MAX_PARTS`. */
  readonly count: number
}

/** A tell's payload (a view into the received buffer). */
export interface TellFrame {
  readonly kind: typeof Kind.TELL
  readonly data: Uint8Array
}

/** One part of a request. */
export interface RequestFrame extends PartFields {
  readonly kind: typeof Kind.REQUEST
  readonly id: AskId
  /** Set on the last part of a burst: the server answers it with an ACK (or the answer). */
  readonly ackRequested: boolean
  /** The caller's transmission number, echoed in replies to time the round trip. */
  readonly tx: number
  /** The caller's remaining time when it sent this part, in ms. */
  readonly timeoutMs: number
  /** Largest response the caller accepts, in bytes. */
  readonly maxResponse: number
  /** This part's bytes (a view into the received buffer). */
  readonly data: Uint8Array
}

/** One part of a response. */
export interface ResponseFrame extends PartFields {
  readonly kind: typeof Kind.RESPONSE
  readonly id: AskId
  /** Set on the last part of a burst: the caller should POLL at once if it misses parts. */
  readonly ackRequested: boolean
  /** The `tx` of the caller's transmission this part answers. */
  readonly echo: number
  /** How long the server held that transmission before answering (handler time), in ms. */
  readonly holdMs: number
  readonly data: Uint8Array
}

/** An error response. */
export interface ErrorFrame {
  readonly kind: typeof Kind.ERROR
  readonly id: AskId
  readonly echo: number
  readonly holdMs: number
  /** One of `ErrorCode` (unknown codes are kept: the caller reports them as `AskError`). */
  readonly code: number
  /** A size the error is about (e.g. of the response), or 0. */
  readonly size: number
  /** The limit that size broke, or 0. */
  readonly limit: number
  /** Short human text, at most `MAX_REASON_BYTES` bytes of UTF-8. */
  readonly reason: string
}

/** The server's acknowledgement. */
export interface AckFrame {
  readonly kind: typeof Kind.ACK
  readonly id: AskId
  readonly echo: number
  readonly holdMs: number
  /** The whole request arrived. */
  readonly complete: boolean
  /** The server knows nothing of the id. */
  readonly unknown: boolean
  /** Every request part below `base` arrived (0 with `complete` or `unknown`). */
  readonly base: number
  /**
   * Bit i (LSB first in byte i/8) set: request part `base + i` arrived. Parts past its end:
   * not known (so the bitmap can be cut to fit the mtu).
   */
  readonly bitmap: Uint8Array
}

/** The caller asks for the response parts it misses. */
export interface PollFrame {
  readonly kind: typeof Kind.POLL
  readonly id: AskId
  readonly tx: number
  /** Every response part below `base` arrived. */
  readonly base: number
  /** Bit i set: response part `base + i` arrived. Parts past its end count as missing. */
  readonly bitmap: Uint8Array
}

/** The caller gave up on an ask. */
export interface CancelFrame {
  readonly kind: typeof Kind.CANCEL
  readonly id: AskId
}

/** Any frame. */
export type Frame =
  | TellFrame
  | RequestFrame
  | ResponseFrame
  | ErrorFrame
  | AckFrame
  | PollFrame
  | CancelFrame

/** Why `parseFrame` refused some bytes. */
export type MalformedReason =
  | 'empty'
  | 'unknownKind'
  | 'short'
  | 'flags'
  | 'shape'
  | 'reason'
  | 'trailing'

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: false })

/**
 * The length every non-last part of a message of `total` bytes in `count` parts has, given
 * that part `index` is `len` bytes long; undefined when no sender could have produced it.
 *
 * Senders split a message into `count = max(1, ceil(total / L))` parts: every part but the last
 * exactly `L` bytes, the last `1..L` bytes (an empty message is one empty part). So one part
 * and its header fix `L`: a non-last part is `L` itself; the last part gives
 * `L = (total - len) / (count - 1)`, which must be a whole number at least `len`.
 */
export function partSize(
  total: number,
  count: number,
  index: number,
  len: number,
): number | undefined {
  if (count < 1 || index < 0 || index >= count || len < 0) return undefined
  if (count === 1) return len === total ? total : undefined
  if (len < 1) return undefined
  if (index < count - 1) {
    // Non-last: L = len, and the remainder left for the last part is in [1, L].
    const last = total - (count - 1) * len
    return last >= 1 && last <= len ? len : undefined
  }
  const rest = total - len
  if (rest <= 0 || rest % (count - 1) !== 0) return undefined
  const l = rest / (count - 1)
  return l >= len ? l : undefined
}

/** Parts a message of `total` bytes takes with parts of `partLen` bytes (at least 1). */
export function partCount(total: number, partLen: number): number {
  return Math.max(1, Math.ceil(total / partLen))
}

/**
 * Parses one inner message. Returns the frame, or the reason it is malformed. Never throws.
 * Data, bitmaps and tell payloads are views into `buf`.
 */
export function parseFrame(
  buf: Uint8Array,
): Frame | { kind: 'malformed'; reason: MalformedReason } {
  if (buf.length === 0) return bad('empty')
  const kind = buf[0]!
  if (kind === Kind.TELL) return { kind: Kind.TELL, data: buf.subarray(TELL_HEADER_SIZE) }
  if (kind > Kind.CANCEL) return bad('unknownKind')
  if (buf.length < ID_END) return bad('short')
  const flags = buf[1]!
  const id = new WireId(getU32(buf, 2), getU32(buf, 6), getU32(buf, 10))
  switch (kind) {
    case Kind.REQUEST: {
      if (buf.length < REQUEST_HEADER_SIZE) return bad('short')
      if ((flags & ~FLAG_ACK_REQUESTED) !== 0) return bad('flags')
      const total = getU32(buf, 24)
      const index = getU16(buf, 28)
      const count = getU16(buf, 30)
      const data = buf.subarray(REQUEST_HEADER_SIZE)
      if (partSize(total, count, index, data.length) === undefined) return bad('shape')
      return {
        kind,
        id,
        ackRequested: flags !== 0,
        tx: getU16(buf, 14),
        timeoutMs: getU32(buf, 16),
        maxResponse: getU32(buf, 20),
        total,
        index,
        count,
        data,
      }
    }
    case Kind.RESPONSE: {
      if (buf.length < RESPONSE_HEADER_SIZE) return bad('short')
      if ((flags & ~FLAG_ACK_REQUESTED) !== 0) return bad('flags')
      const total = getU32(buf, 20)
      const index = getU16(buf, 24)
      const count = getU16(buf, 26)
      const data = buf.subarray(RESPONSE_HEADER_SIZE)
      if (partSize(total, count, index, data.length) === undefined) return bad('shape')
      return {
        kind,
        id,
        ackRequested: flags !== 0,
        echo: getU16(buf, 14),
        holdMs: getU32(buf, 16),
        total,
        index,
        count,
        data,
      }
    }
    case Kind.ERROR: {
      if (buf.length < ERROR_HEADER_SIZE) return bad('short')
      if (flags !== 0) return bad('flags')
      const code = buf[20]!
      const reasonBytes = buf.subarray(ERROR_HEADER_SIZE)
      if (code === 0 || reasonBytes.length > MAX_REASON_BYTES) return bad('reason')
      return {
        kind,
        id,
        echo: getU16(buf, 14),
        holdMs: getU32(buf, 16),
        code,
        size: getU32(buf, 21),
        limit: getU32(buf, 25),
        reason: decoder.decode(reasonBytes),
      }
    }
    case Kind.ACK: {
      if (buf.length < ACK_HEADER_SIZE) return bad('short')
      if ((flags & ~(FLAG_COMPLETE | FLAG_UNKNOWN)) !== 0) return bad('flags')
      const complete = (flags & FLAG_COMPLETE) !== 0
      const unknown = (flags & FLAG_UNKNOWN) !== 0
      const base = getU16(buf, 20)
      const bitmap = buf.subarray(ACK_HEADER_SIZE)
      if (complete && unknown) return bad('flags')
      if ((complete || unknown) && (bitmap.length > 0 || base !== 0)) return bad('trailing')
      return {
        kind,
        id,
        echo: getU16(buf, 14),
        holdMs: getU32(buf, 16),
        complete,
        unknown,
        base,
        bitmap,
      }
    }
    case Kind.POLL: {
      if (buf.length < POLL_HEADER_SIZE) return bad('short')
      if (flags !== 0) return bad('flags')
      return {
        kind,
        id,
        tx: getU16(buf, 14),
        base: getU16(buf, 16),
        bitmap: buf.subarray(POLL_HEADER_SIZE),
      }
    }
    default: {
      // CANCEL
      if (flags !== 0) return bad('flags')
      if (buf.length !== CANCEL_SIZE) return bad('trailing')
      return { kind: Kind.CANCEL, id }
    }
  }
}

/** The tell header (a constant). */
export const TELL_HEADER: Uint8Array = Uint8Array.of(Kind.TELL)

/** Header of a request part; the part's data follows it on the wire. Throws `RangeError` on a bad field. */
export function encodeRequestHeader(f: Omit<RequestFrame, 'kind' | 'data'>): Uint8Array {
  checkParts(f)
  const out = new Uint8Array(REQUEST_HEADER_SIZE)
  putId(out, Kind.REQUEST, f.ackRequested ? FLAG_ACK_REQUESTED : 0, f.id)
  putU16(out, 14, u16(f.tx, 'tx'))
  putU32(out, 16, u32(f.timeoutMs, 'timeoutMs'))
  putU32(out, 20, u32(f.maxResponse, 'maxResponse'))
  putU32(out, 24, f.total)
  putU16(out, 28, f.index)
  putU16(out, 30, f.count)
  return out
}

/** Header of a response part; the part's data follows it on the wire. */
export function encodeResponseHeader(f: Omit<ResponseFrame, 'kind' | 'data'>): Uint8Array {
  checkParts(f)
  const out = new Uint8Array(RESPONSE_HEADER_SIZE)
  putId(out, Kind.RESPONSE, f.ackRequested ? FLAG_ACK_REQUESTED : 0, f.id)
  putU16(out, 14, u16(f.echo, 'echo'))
  putU32(out, 16, clampU32(f.holdMs))
  putU32(out, 20, f.total)
  putU16(out, 24, f.index)
  putU16(out, 26, f.count)
  return out
}

/** A whole error frame. The reason is cut to `MAX_REASON_BYTES` bytes on a character boundary. */
export function encodeError(f: Omit<ErrorFrame, 'kind'>): Uint8Array {
  if (!Number.isInteger(f.code) || f.code < 1 || f.code > 0xff) {
    throw new RangeError(`code must be an integer in 1..255, got ${f.code}`)
  }
  const reason = utf8Prefix(f.reason, MAX_REASON_BYTES)
  const out = new Uint8Array(ERROR_HEADER_SIZE + reason.length)
  putId(out, Kind.ERROR, 0, f.id)
  putU16(out, 14, u16(f.echo, 'echo'))
  putU32(out, 16, clampU32(f.holdMs))
  out[20] = f.code
  putU32(out, 21, clampU32(f.size))
  putU32(out, 25, clampU32(f.limit))
  out.set(reason, ERROR_HEADER_SIZE)
  return out
}

/** A whole ACK frame. `base` must be 0 and `bitmap` empty when `complete` or `unknown` is set. */
export function encodeAck(f: Omit<AckFrame, 'kind'>): Uint8Array {
  if (f.complete && f.unknown) throw new RangeError('an ACK cannot be both complete and unknown')
  if ((f.complete || f.unknown) && (f.bitmap.length > 0 || f.base !== 0)) {
    throw new RangeError('a complete or unknown ACK carries no base and no bitmap')
  }
  const flags = (f.complete ? FLAG_COMPLETE : 0) | (f.unknown ? FLAG_UNKNOWN : 0)
  const out = new Uint8Array(ACK_HEADER_SIZE + f.bitmap.length)
  putId(out, Kind.ACK, flags, f.id)
  putU16(out, 14, u16(f.echo, 'echo'))
  putU32(out, 16, clampU32(f.holdMs))
  putU16(out, 20, u16(f.base, 'base'))
  out.set(f.bitmap, ACK_HEADER_SIZE)
  return out
}

/** A whole POLL frame. */
export function encodePoll(f: Omit<PollFrame, 'kind'>): Uint8Array {
  const out = new Uint8Array(POLL_HEADER_SIZE + f.bitmap.length)
  putId(out, Kind.POLL, 0, f.id)
  putU16(out, 14, u16(f.tx, 'tx'))
  putU16(out, 16, u16(f.base, 'base'))
  out.set(f.bitmap, POLL_HEADER_SIZE)
  return out
}

/** A whole CANCEL frame. */
export function encodeCancel(id: AskId): Uint8Array {
  const out = new Uint8Array(CANCEL_SIZE)
  putId(out, Kind.CANCEL, 0, id)
  return out
}

/** A map key for an id (see `WireId.key`). */
export function idKey(id: AskId): string {
  return WireId.of(id).key
}

/**
 * The longest prefix of `text`'s UTF-8 encoding that is at most `max` bytes and ends on a
 * character boundary.
 */
export function utf8Prefix(text: string, max: number): Uint8Array {
  const bytes = encoder.encode(text)
  if (bytes.length <= max) return bytes
  let end = max
  // Back off continuation bytes (10xxxxxx) so no character is cut in half.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--
  return bytes.subarray(0, end)
}

function putId(out: Uint8Array, kind: number, flags: number, id: AskId): void {
  const w = WireId.of(id)
  out[0] = kind
  out[1] = flags
  putU32(out, 2, w.hi)
  putU32(out, 6, w.lo)
  putU32(out, 10, w.seq)
}

// Big-endian integers by hand: a DataView over a small new Uint8Array would make V8 move the
// array's bytes off the heap (reading `.buffer` does), which costs more than the whole frame.

function getU16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!
}

function getU32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0
}

/** Writes a uint16 (the caller checked the range; typed-array stores keep the low 8 bits). */
function putU16(b: Uint8Array, at: number, n: number): void {
  b[at] = n >>> 8
  b[at + 1] = n
}

/** Writes a uint32 (the caller checked the range). */
function putU32(b: Uint8Array, at: number, n: number): void {
  b[at] = n >>> 24
  b[at + 1] = n >>> 16
  b[at + 2] = n >>> 8
  b[at + 3] = n
}

function checkSession(session: unknown): void {
  if (typeof session !== 'bigint' || session < 0n || session > MAX_SESSION) {
    throw new RangeError('id.session must be a 64-bit unsigned bigint')
  }
}

function checkParts(f: PartFields & { data?: unknown }): void {
  u32(f.total, 'total')
  if (!Number.isInteger(f.count) || f.count < 1 || f.count > MAX_PARTS) {
    throw new RangeError(`count must be an integer in 1..${MAX_PARTS}, got ${f.count}`)
  }
  if (!Number.isInteger(f.index) || f.index < 0 || f.index >= f.count) {
    throw new RangeError(`index must be an integer in [0, count), got ${f.index} of ${f.count}`)
  }
}

function u16(n: number, name: string): number {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) {
    throw new RangeError(`${name} must be an integer in 0..65535, got ${n}`)
  }
  return n
}

function u32(n: number, name: string): number {
  if (!Number.isInteger(n) || n < 0 || n > MAX_UINT32) {
    throw new RangeError(`${name} must be an integer in 0..${MAX_UINT32}, got ${n}`)
  }
  return n
}

/** Durations and sizes reported for information are clamped rather than refused. */
function clampU32(n: number): number {
  if (!(n > 0)) return 0
  return n >= MAX_UINT32 ? MAX_UINT32 : Math.floor(n)
}

function bad(reason: MalformedReason): { kind: 'malformed'; reason: MalformedReason } {
  return { kind: 'malformed', reason }
}
