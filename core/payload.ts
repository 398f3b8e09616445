/** Helpers for `Payload` iovecs. None of them modifies the parts it is given. */
import type { Payload } from './swarm.js'

/** The parts of a payload, as a list (a single buffer becomes a one-element list, not copied). */
export function payloadParts(p: Payload): readonly Uint8Array[] {
  return p instanceof Uint8Array ? [p] : p
}

/** Total length in bytes of all parts. */
export function payloadSize(p: Payload): number {
  if (p instanceof Uint8Array) return p.length
  let n = 0
  for (const part of p) n += part.length
  return n
}

/**
 * The payload as one buffer. With a single part it returns that part itself (no copy), so the
 * result may alias the caller's memory; use `payloadCopy` to own the bytes.
 */
export function payloadConcat(p: Payload): Uint8Array {
  if (p instanceof Uint8Array) return p
  if (p.length === 1) return p[0]!
  return joinParts(p, payloadSize(p))
}

/** A fresh copy of the payload's bytes, never aliasing the caller's buffers. */
export function payloadCopy(p: Payload): Uint8Array {
  if (p instanceof Uint8Array) return p.slice()
  return joinParts(p, payloadSize(p))
}

/** A new payload with `header` in front. The parts are not copied. */
export function prepend(header: Uint8Array, p: Payload): readonly Uint8Array[] {
  return p instanceof Uint8Array ? [header, p] : [header, ...p]
}

function joinParts(parts: readonly Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size)
  let off = 0
  for (const part of parts) {
    out.set(part, off)
    off += part.length
  }
  return out
}

/** True when two byte strings are equal (not constant time; never use on secrets). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Lexicographic order of two byte strings: negative, zero or positive. */
export function bytesCompare(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!
    if (d !== 0) return d
  }
  return a.length - b.length
}
