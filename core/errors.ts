/**
 * Error classes with stable `code`s. Match errors with the `is…Error` helpers, which compare
 * codes (not `instanceof`, which breaks across duplicate installs of the package).
 */

/** Every stable error code swarmwire uses. */
export const ErrorCodes = {
  CLOSED: 'ERR_CLOSED',
  MTU_EXCEEDED: 'ERR_MTU_EXCEEDED',
  PUBLIC_KEY_NOT_FOUND: 'ERR_PUBLIC_KEY_NOT_FOUND',
  ASK: 'ERR_ASK',
  BAD_ADDR: 'ERR_BAD_ADDR',
  BAD_MESSAGE: 'ERR_BAD_MESSAGE',
  UNREACHABLE: 'ERR_UNREACHABLE',
  TIMEOUT: 'ERR_TIMEOUT',
  NOT_ALLOWED: 'ERR_NOT_ALLOWED',
  RESPONSE_TOO_LARGE: 'ERR_RESPONSE_TOO_LARGE',
  BUSY: 'ERR_BUSY',
  HANDSHAKE: 'ERR_HANDSHAKE',
  IN_USE: 'ERR_IN_USE',
} as const

/** One of `ErrorCodes`. */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes]

/** Base class of every swarmwire error: a stable `code` and a human message. */
export class SwarmError extends Error {
  readonly code: ErrorCode
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options)
    this.code = code
    this.name = 'SwarmError'
  }
}

/** The swarm (or the layer) is closed. Pending and later calls reject with this. */
export class ClosedError extends SwarmError {
  constructor(message = 'swarm is closed', options?: ErrorOptions) {
    super(ErrorCodes.CLOSED, message, options)
    this.name = 'ClosedError'
  }
}

/** A payload larger than the destination's mtu. */
export class MTUExceededError extends SwarmError {
  readonly size: number
  readonly mtu: number
  constructor(size: number, mtu: number, detail = '', options?: ErrorOptions) {
    super(
      ErrorCodes.MTU_EXCEEDED,
      `payload of ${size} bytes exceeds the mtu of ${mtu} bytes${detail ? `: ${detail}` : ''}`,
      options,
    )
    this.size = size
    this.mtu = mtu
    this.name = 'MTUExceededError'
  }
}

/** No public key is known for the address. */
export class PublicKeyNotFoundError extends SwarmError {
  constructor(addr: string) {
    super(ErrorCodes.PUBLIC_KEY_NOT_FOUND, `no public key known for ${addr}`)
    this.name = 'PublicKeyNotFoundError'
  }
}

/** The remote handler failed; `reason` is the short text the remote sent. */
export class AskError extends SwarmError {
  readonly reason: string
  constructor(reason: string) {
    super(ErrorCodes.ASK, `remote handler failed: ${reason}`)
    this.reason = reason
    this.name = 'AskError'
  }
}

/** Address text that does not parse, or an address this swarm cannot use. */
export class BadAddrError extends SwarmError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCodes.BAD_ADDR, message, options)
    this.name = 'BadAddrError'
  }
}

/** Malformed bytes. Network input that fails to parse is dropped and counted, never thrown to a caller. */
export class BadMessageError extends SwarmError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCodes.BAD_MESSAGE, message, options)
    this.name = 'BadMessageError'
  }
}

/** No node answers at the address (where the swarm can know it, e.g. memswarm). */
export class UnreachableError extends SwarmError {
  constructor(addr: string, options?: ErrorOptions & { message?: string }) {
    super(ErrorCodes.UNREACHABLE, options?.message ?? `no node at ${addr}`, options)
    this.name = 'UnreachableError'
  }
}

/** A deadline the library set (not the caller's signal) passed. */
export class TimeoutError extends SwarmError {
  constructor(message = 'timed out', options?: ErrorOptions) {
    super(ErrorCodes.TIMEOUT, message, options)
    this.name = 'TimeoutError'
  }
}

/** The peer is not on the allow-list, or the operation is refused by policy. */
export class NotAllowedError extends SwarmError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCodes.NOT_ALLOWED, message, options)
    this.name = 'NotAllowedError'
  }
}

/** A response larger than the caller accepts. Never silently truncated. */
export class ResponseTooLargeError extends SwarmError {
  constructor(size: number, limit: number) {
    super(ErrorCodes.RESPONSE_TOO_LARGE, `response of ${size} bytes exceeds the limit of ${limit}`)
    this.name = 'ResponseTooLargeError'
  }
}

/** A limit on work in flight is reached; try again later. */
export class BusyError extends SwarmError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCodes.BUSY, message, options)
    this.name = 'BusyError'
  }
}

/** A secure handshake failed or could not complete. */
export class HandshakeError extends SwarmError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCodes.HANDSHAKE, message, options)
    this.name = 'HandshakeError'
  }
}

/** A name, channel or port is already taken. */
export class InUseError extends SwarmError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCodes.IN_USE, message, options)
    this.name = 'InUseError'
  }
}

/** The `code` of an error-like value, if it has a string one. */
export function errorCode(e: unknown): string | undefined {
  if (typeof e !== 'object' || e === null) return undefined
  const code = (e as { code?: unknown }).code
  return typeof code === 'string' ? code : undefined
}

/** True when `e` carries `code`. */
export function hasErrorCode(e: unknown, code: ErrorCode): boolean {
  return errorCode(e) === code
}

/** True for `ClosedError` (by code). */
export const isClosedError = (e: unknown): e is ClosedError => hasErrorCode(e, ErrorCodes.CLOSED)
/** True for `MTUExceededError` (by code). */
export const isMTUExceededError = (e: unknown): e is MTUExceededError =>
  hasErrorCode(e, ErrorCodes.MTU_EXCEEDED)
/** True for `PublicKeyNotFoundError` (by code). */
export const isPublicKeyNotFoundError = (e: unknown): e is PublicKeyNotFoundError =>
  hasErrorCode(e, ErrorCodes.PUBLIC_KEY_NOT_FOUND)
/** True for `AskError` (by code). */
export const isAskError = (e: unknown): e is AskError => hasErrorCode(e, ErrorCodes.ASK)
/** True for `BadAddrError` (by code). */
export const isBadAddrError = (e: unknown): e is BadAddrError =>
  hasErrorCode(e, ErrorCodes.BAD_ADDR)
/** True for `BadMessageError` (by code). */
export const isBadMessageError = (e: unknown): e is BadMessageError =>
  hasErrorCode(e, ErrorCodes.BAD_MESSAGE)
/** True for `UnreachableError` (by code). */
export const isUnreachableError = (e: unknown): e is UnreachableError =>
  hasErrorCode(e, ErrorCodes.UNREACHABLE)
/** True for `TimeoutError` (by code). */
export const isTimeoutError = (e: unknown): e is TimeoutError => hasErrorCode(e, ErrorCodes.TIMEOUT)

/** A short, single-line text for an error, to send as an error response's reason. */
export function errorReason(e: unknown, maxLength = 256): string {
  const text = e instanceof Error ? e.message : String(e)
  const line = text.replace(/\s+/g, ' ').trim() || 'unknown error'
  return line.length > maxLength ? `${line.slice(0, maxLength - 1)}…` : line
}
