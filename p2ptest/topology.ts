/**
 * Topologies as adjacency lists (`adj[i]` = the nodes node i links to), and a memswarm
 * transform that only lets tells through along the links.
 */
import { SeededRandom } from '../core/index.js'
import type { Message } from '../core/index.js'
import type { MemAddr } from '../s/memswarm/index.js'

/** `adj[i]` lists the neighbours of node i; links are undirected (each appears both ways). */
export type Adjacency = readonly (readonly number[])[]

function build(n: number, link: (add: (a: number, b: number) => void) => void): Adjacency {
  if (!Number.isInteger(n) || n < 0)
    throw new RangeError(`n must be a non-negative integer, got ${n}`)
  const sets = Array.from({ length: n }, () => new Set<number>())
  link((a, b) => {
    if (a === b) return
    sets[a]!.add(b)
    sets[b]!.add(a)
  })
  return sets.map((s) => [...s].sort((x, y) => x - y))
}

/** 0 – 1 – 2 – … – n-1. */
export function chain(n: number): Adjacency {
  return build(n, (add) => {
    for (let i = 0; i + 1 < n; i++) add(i, i + 1)
  })
}

/** A chain whose ends are linked (n ≥ 3 for a proper ring). */
export function ring(n: number): Adjacency {
  return build(n, (add) => {
    for (let i = 0; i < n; i++) add(i, (i + 1) % n)
  })
}

/** Every node linked to every other. */
export function cluster(n: number): Adjacency {
  return build(n, (add) => {
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) add(i, j)
  })
}

/** Node `hub` (default 0) linked to every other node; no other links. */
export function hubAndSpoke(n: number, hub = 0): Adjacency {
  return build(n, (add) => {
    for (let i = 0; i < n; i++) add(hub, i)
  })
}

/**
 * A random k-regular graph (every node has exactly k neighbours), from a seed. Needs k < n and
 * n·k even. Uses Steger and Wormald's pairing: join two random free stubs of different,
 * not-yet-linked nodes; restart in the rare case it gets stuck.
 */
export function randomRegular(n: number, k: number, seed = 1): Adjacency {
  if (!(Number.isInteger(k) && k >= 0 && k < Math.max(n, 1) && (n * k) % 2 === 0)) {
    throw new RangeError(`no ${k}-regular graph on ${n} nodes (need 0 ≤ k < n and n·k even)`)
  }
  const rand = new SeededRandom(seed)
  for (let attempt = 0; attempt < 1000; attempt++) {
    const adj = tryPairing(n, k, rand)
    if (adj !== undefined) return adj
  }
  throw new Error(`could not build a ${k}-regular graph on ${n} nodes`)
}

function tryPairing(n: number, k: number, rand: SeededRandom): Adjacency | undefined {
  const sets = Array.from({ length: n }, () => new Set<number>())
  const stubs = Array.from({ length: n * k }, (_, i) => Math.floor(i / k))
  const ok = (a: number, b: number) => a !== b && !sets[a]!.has(b)
  while (stubs.length > 0) {
    let pair: [number, number] | undefined
    for (let tries = 0; tries < 50 && pair === undefined; tries++) {
      const i = rand.int(stubs.length)
      const j = rand.int(stubs.length)
      if (ok(stubs[i]!, stubs[j]!)) pair = [i, j]
    }
    pair ??= findPair(stubs, ok)
    if (pair === undefined) return undefined
    const [i, j] = pair
    const a = stubs[i]!
    const b = stubs[j]!
    sets[a]!.add(b)
    sets[b]!.add(a)
    for (const idx of [Math.max(i, j), Math.min(i, j)]) {
      stubs[idx] = stubs[stubs.length - 1]!
      stubs.pop()
    }
  }
  return sets.map((s) => [...s].sort((x, y) => x - y))
}

function findPair(
  stubs: number[],
  ok: (a: number, b: number) => boolean,
): [number, number] | undefined {
  for (let i = 0; i < stubs.length; i++) {
    for (let j = i + 1; j < stubs.length; j++) if (ok(stubs[i]!, stubs[j]!)) return [i, j]
  }
  return undefined
}

/** Number of links in a topology. */
export function edgeCount(adj: Adjacency): number {
  return adj.reduce((sum, nbrs) => sum + nbrs.length, 0) / 2
}

/**
 * A memswarm tell transform that drops every tell between nodes that are not linked in `adj`
 * (node numbers are the realm's node numbers, so create the realm's nodes in order).
 */
export function topologyTransform(
  adj: Adjacency,
): (msg: Message<MemAddr>) => Message<MemAddr> | undefined {
  const links = adj.map((nbrs) => new Set(nbrs))
  return (msg) => (links[msg.src.n]?.has(msg.dst.n) ? msg : undefined)
}
