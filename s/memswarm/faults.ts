/**
 * What the realm does to a tell between `tell()` and the receiver's inbox: a user transform,
 * then seeded loss, duplication, reordering and latency.
 */
import { SeededRandom } from '../../core/index.js'

/** Fault-injection settings of a `Realm`. Probabilities are in [0, 1]. */
export interface FaultOptions {
  /** Seed of the PRNG behind every random decision (default 1): same seed, same schedule. */
  seed?: number
  /** Probability that a tell is dropped. */
  loss?: number
  /** Probability that a tell is delivered twice. */
  duplicate?: number
  /** Probability that a tell is held back so later tells overtake it. */
  reorder?: number
  /** How long a reordered tell is held back, in ms (default 5). */
  reorderDelayMs?: number
  /** Fixed one-way latency in ms for tells and asks (default 0: delivered at once). */
  latencyMs?: number
  /** Extra uniformly random latency in [0, jitterMs) ms (default 0). */
  jitterMs?: number
}

/** The fate of one tell: delivered copies, each with its delay in ms (empty = lost). */
export type Fate = readonly number[]

/** Decides fates from a seeded PRNG. */
export class FaultSchedule {
  readonly #rand: SeededRandom
  readonly #opts: Required<FaultOptions>

  constructor(opts: FaultOptions = {}) {
    for (const k of ['loss', 'duplicate', 'reorder'] as const) {
      const p = opts[k] ?? 0
      if (!(p >= 0 && p <= 1)) throw new RangeError(`${k} must be in [0, 1], got ${p}`)
    }
    for (const k of ['latencyMs', 'jitterMs', 'reorderDelayMs'] as const) {
      const v = opts[k] ?? 0
      if (!(v >= 0)) throw new RangeError(`${k} must be >= 0, got ${v}`)
    }
    this.#opts = {
      seed: opts.seed ?? 1,
      loss: opts.loss ?? 0,
      duplicate: opts.duplicate ?? 0,
      reorder: opts.reorder ?? 0,
      reorderDelayMs: opts.reorderDelayMs ?? 5,
      latencyMs: opts.latencyMs ?? 0,
      jitterMs: opts.jitterMs ?? 0,
    }
    this.#rand = new SeededRandom(this.#opts.seed)
  }

  /** True when tells may be lost, duplicated or reordered. */
  get impairs(): boolean {
    const o = this.#opts
    return o.loss > 0 || o.duplicate > 0 || o.reorder > 0 || o.jitterMs > 0
  }

  /** The fate of the next tell. */
  nextTell(): Fate {
    const o = this.#opts
    if (this.#rand.chance(o.loss)) return []
    const copies = this.#rand.chance(o.duplicate) ? 2 : 1
    const out: number[] = []
    for (let i = 0; i < copies; i++) {
      const held = this.#rand.chance(o.reorder) ? o.reorderDelayMs : 0
      out.push(this.delay() + held)
    }
    return out
  }

  /** One-way delay for an ask or a response (asks are never lost). */
  delay(): number {
    const o = this.#opts
    return o.latencyMs + (o.jitterMs > 0 ? this.#rand.next() * o.jitterMs : 0)
  }
}
