/**
 * multiswarm addresses: `scheme://inner`, as go-p2p's `multiswarm.Addr` (`Transport://Addr`).
 */
import { type Addr, BadAddrError, type WrappingAddr } from '../../core/index.js'

/**
 * A valid scheme: 1–64 characters, a letter or digit first, then letters, digits, `_ + . -`.
 * (go-p2p takes anything before the first `://`; this is stricter so that every scheme is
 * also a valid URL scheme-like token and never contains `://`.)
 */
export const SCHEME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_+.-]{0,63}$/

/** True when `name` can be a multiswarm scheme. */
export function isValidScheme(name: string): boolean {
  return typeof name === 'string' && SCHEME_PATTERN.test(name)
}

/** Set only while `trustedMultiAddr` constructs: the scheme was validated before. */
let trusted = false

/** An address in one named sub-swarm. Text: `scheme://` then the inner address's text. */
export class MultiAddr<Inner extends Addr = Addr> implements WrappingAddr<Inner> {
  /** The sub-swarm's name. */
  readonly scheme: string
  /** The address in the sub-swarm. */
  readonly inner: Inner

  /** Throws `RangeError` when `scheme` is not valid (see `SCHEME_PATTERN`). */
  constructor(scheme: string, inner: Inner) {
    if (!trusted && !isValidScheme(scheme)) {
      throw new RangeError(`invalid multiswarm scheme ${JSON.stringify(scheme)}`)
    }
    this.scheme = scheme
    this.inner = inner
  }

  /** The inner address. */
  unwrap(): Inner {
    return this.inner
  }

  /** The same scheme around `fn(inner)`. */
  map(fn: (inner: Inner) => Inner): this {
    return trustedMultiAddr(this.scheme, fn(this.inner)) as this
  }

  toString(): string {
    return `${this.scheme}://${this.inner.toString()}`
  }

  toJSON(): string {
    return this.toString()
  }
}

/**
 * A `MultiAddr` whose scheme is known to be valid (a multiswarm's own child, or the scheme of an
 * existing `MultiAddr`), built without checking it again: the receive path builds two per
 * message. Not exported from the package: a wrong scheme here would be a bug in this folder.
 */
export function trustedMultiAddr<Inner extends Addr>(
  scheme: string,
  inner: Inner,
): MultiAddr<Inner> {
  trusted = true
  try {
    return new MultiAddr(scheme, inner)
  } finally {
    trusted = false
  }
}

/**
 * Splits `scheme://rest` at the first `://`. Throws `BadAddrError` when there is none, the
 * scheme is not valid, or the rest is empty.
 */
export function splitMultiAddr(text: string): { scheme: string; rest: string } {
  if (typeof text !== 'string') throw new BadAddrError('multiswarm address must be a string')
  const at = text.indexOf('://')
  if (at < 0) {
    throw new BadAddrError(`bad multiswarm address ${quote(text)}: want scheme://address`)
  }
  const scheme = text.slice(0, at)
  const rest = text.slice(at + 3)
  if (!isValidScheme(scheme)) {
    throw new BadAddrError(`bad multiswarm address ${quote(text)}: invalid scheme`)
  }
  if (rest.length === 0) {
    throw new BadAddrError(`bad multiswarm address ${quote(text)}: empty inner address`)
  }
  return { scheme, rest }
}

function quote(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text)
}
