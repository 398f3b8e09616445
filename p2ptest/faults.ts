/**
 * Deterministic fault transforms for memswarm (as go-p2p's p2ptest): drop the first tell
 * between each pair of nodes, or the first copy of each distinct message, so that code which
 * must retransmit is forced to.
 */
import type { Message } from '../core/index.js'
import type { MemAddr } from '../s/memswarm/index.js'

/** A memswarm tell transform: the message to deliver, or undefined to drop it. */
export type Transform = (msg: Message<MemAddr>) => Message<MemAddr> | undefined

/** Drops the first tell from each source to each destination; later ones pass. */
export function dropFirstPairwise(): Transform {
  const seen = new Set<string>()
  return (msg) => {
    const key = `${msg.src}>${msg.dst}`
    if (seen.has(key)) return msg
    seen.add(key)
    return undefined
  }
}

/**
 * Drops the first copy of each distinct (source, destination, payload) tuple; a retransmission
 * of the same bytes passes. Memory grows with the number of distinct messages (a test helper).
 */
export function dropFirstTuple(): Transform {
  const seen = new Set<string>()
  return (msg) => {
    const key = `${msg.src}>${msg.dst}>${Buffer.from(msg.payload).toString('base64')}`
    if (seen.has(key)) return msg
    seen.add(key)
    return undefined
  }
}

/** Applies transforms in order; a drop by any of them drops the message. */
export function composeTransforms(...fs: Transform[]): Transform {
  return (msg) => {
    let m: Message<MemAddr> | undefined = msg
    for (const f of fs) {
      if (m === undefined) return undefined
      m = f(m)
    }
    return m
  }
}
