/**
 * Shared pieces of the P2PKE and ask benchmarks (`bench/p2pke.ts`, `bench/asks.ts`): rounds
 * that take turns and report medians, timed synchronous loops with their CPU time, windowed
 * message flows, and the keys and options every secure row uses.
 */
import os from 'node:os'

/** Rounds per comparison: the variants take turns, and each reports its median round. */
export const ROUNDS = 3

/** One round of one variant. */
export interface Sample {
  /** Operations per second (wall clock). */
  opsPerSec: number
  /** Operations completed. */
  ops: number
  /** CPU time (user + system) of this process over the round, warm-up excluded, in µs. */
  cpuMicros: number
  /** Per-operation latency percentiles in ms, when measured. */
  p50Ms?: number
  p99Ms?: number
  /** Messages sent, and sent but never received, when a flow can lose them. */
  sent?: number
  lost?: number
}

/** The median sample of a variant's rounds, by rate; CPU per op over all rounds. */
export interface Summary {
  opsPerSec: number
  /** CPU µs per operation over every round together (undefined when nothing completed). */
  cpuPerOp: number | undefined
  /** Median over rounds of each round's p50 and p99 (ms). */
  p50Ms?: number
  p99Ms?: number
  /** Lowest and highest round rate. */
  min: number
  max: number
  /** Sums over the rounds (0 when the samples did not count them). */
  sent: number
  lost: number
}

/** The middle value (lower middle for an even count); NaN for none. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor((s.length - 1) / 2)]!
}

/** Summarises the rounds of one variant. */
export function summarise(samples: readonly Sample[]): Summary {
  const ops = samples.reduce((n, s) => n + s.ops, 0)
  const cpu = samples.reduce((n, s) => n + s.cpuMicros, 0)
  const p50 = samples.flatMap((s) => (s.p50Ms === undefined ? [] : [s.p50Ms]))
  const p99 = samples.flatMap((s) => (s.p99Ms === undefined ? [] : [s.p99Ms]))
  const rates = samples.map((s) => s.opsPerSec)
  return {
    opsPerSec: median(rates),
    cpuPerOp: ops > 0 ? cpu / ops : undefined,
    ...(p50.length > 0 ? { p50Ms: median(p50), p99Ms: median(p99) } : {}),
    min: Math.min(...rates),
    max: Math.max(...rates),
    sent: samples.reduce((n, s) => n + (s.sent ?? 0), 0),
    lost: samples.reduce((n, s) => n + (s.lost ?? 0), 0),
  }
}

/** One variant of a comparison: measures one round and returns its named samples. */
export type Runner = (seconds: number) => Promise<Record<string, Sample>>

/**
 * Runs every runner `ROUNDS` times for `seconds / ROUNDS` each, taking turns (the order rotates
 * each round), so a burst of load from elsewhere on the machine hits all of them alike; returns
 * the summary of every named sample over its rounds.
 */
export async function interleave(
  runners: readonly Runner[],
  seconds: number,
): Promise<Map<string, Summary>> {
  const samples = new Map<string, Sample[]>()
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < runners.length; i++) {
      const got = await runners[(i + r) % runners.length]!(seconds / ROUNDS)
      for (const [name, s] of Object.entries(got)) {
        const list = samples.get(name) ?? []
        list.push(s)
        samples.set(name, list)
      }
    }
  }
  return new Map([...samples].map(([name, s]) => [name, summarise(s)]))
}

/**
 * Runs the synchronous `op` (`batch` operations per call) for `seconds` after a short warm-up
 * and measures its rate, the CPU time of this process, and (for `batch` 1) per-call latency
 * percentiles.
 */
export function timeSync(op: () => void, seconds: number, batch = 1): Sample {
  const warm = performance.now() + Math.min(300, seconds * 200)
  while (performance.now() < warm) op()
  const times: number[] = []
  const cpu0 = process.cpuUsage()
  const start = performance.now()
  const end = start + seconds * 1000
  let t = start
  while (t < end) {
    op()
    const now = performance.now()
    times.push(now - t)
    t = now
  }
  const cpu = process.cpuUsage(cpu0)
  const ops = times.length * batch
  return {
    opsPerSec: ops / ((t - start) / 1000),
    ops,
    cpuMicros: cpu.user + cpu.system,
    ...(batch === 1 ? { p50Ms: percentileOf(times, 50), p99Ms: percentileOf(times, 99) } : {}),
  }
}

/**
 * Runs `op` (which performs some operations per call and returns how many) for `seconds`
 * after a short warm-up; rate and CPU time of this process.
 */
export async function timeAsync(op: () => Promise<number>, seconds: number): Promise<Sample> {
  const warm = performance.now() + Math.min(300, seconds * 200)
  while (performance.now() < warm) await op()
  let ops = 0
  const cpu0 = process.cpuUsage()
  const start = performance.now()
  const end = start + seconds * 1000
  while (performance.now() < end) ops += await op()
  const elapsed = performance.now() - start
  const cpu = process.cpuUsage(cpu0)
  return { opsPerSec: ops / (elapsed / 1000), ops, cpuMicros: cpu.user + cpu.system }
}

/** The p-th percentile (0..100) of `xs`, nearest rank, sorting `xs` in place. */
export function percentileOf(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN
  xs.sort((a, b) => a - b)
  return xs[Math.min(xs.length - 1, Math.max(0, Math.ceil((p / 100) * xs.length) - 1))]!
}

/** Milliseconds with three significant digits, for the notes column. */
export function ms(x: number | undefined | null): string {
  if (x === undefined || x === null || Number.isNaN(x)) return '–'
  return x >= 10 ? x.toFixed(0) : x >= 1 ? x.toFixed(1) : x.toPrecision(2)
}

/** "CPU x µs/op" for the notes, or undefined. */
export function cpuNote(s: Summary, unit = 'op'): string | undefined {
  return s.cpuPerOp === undefined ? undefined : `CPU ${s.cpuPerOp.toFixed(1)} µs/${unit}`
}

/** "rounds a–b/s" for the notes: the spread of the round rates. */
export function spreadNote(s: Summary): string {
  return `rounds ${fmtRate(s.min)}–${fmtRate(s.max)}/s`
}

function fmtRate(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1)
}

/** The 1-minute load average, for the log line of a run. */
export function load(): string {
  return os.loadavg()[0]!.toFixed(1)
}

/**
 * Pushes `batch` messages through `send`/`recv` keeping at most `window` sent but not yet
 * received: the sender waits for the receiver's progress, never for a timer (the loop of
 * `bench/memswarm.ts`). Resolves with `batch`.
 */
export async function windowed(
  batch: number,
  window: number,
  send: () => Promise<void> | void,
  recv: () => Promise<void>,
): Promise<number> {
  let received = 0
  let wake: (() => void) | undefined
  const receiving = (async () => {
    while (received < batch) {
      await recv()
      received++
      if (wake !== undefined) {
        const w = wake
        wake = undefined
        w()
      }
    }
  })()
  for (let sent = 0; sent < batch; sent++) {
    while (sent - received >= window) await new Promise<void>((r) => (wake = r))
    await send()
  }
  await receiving
  return batch
}
