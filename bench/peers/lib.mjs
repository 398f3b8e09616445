// Shared plumbing for the peer baselines: argv parsing, timed loops, percentiles, the one JSON
// line on stdout. Logs go to stderr so stdout carries exactly one JSON line.
import os from 'node:os'
import { parseArgs } from 'node:util'

/**
 * Parses argv with `node:util` parseArgs. `spec` maps option name to a default string;
 * every option takes a value (`--seconds 2`). Unknown options throw.
 */
export function options(spec) {
  const { values } = parseArgs({
    options: Object.fromEntries(
      Object.entries(spec).map(([k, v]) => [k, { type: 'string', default: v }]),
    ),
    allowPositionals: false,
  })
  return values
}

/** "1,16,64" → [1, 16, 64]; rejects anything but positive integers. */
export function intList(s) {
  const xs = s.split(',').map((x) => Number(x.trim()))
  for (const x of xs)
    if (!Number.isInteger(x) || x < 1) throw new Error(`expected positive integers, got ${s}`)
  return xs
}

/** "a,b" → ['a', 'b'], each checked against `allowed`. */
export function nameList(s, allowed) {
  const xs = s.split(',').map((x) => x.trim())
  for (const x of xs)
    if (!allowed.includes(x)) throw new Error(`unknown ${x}; have: ${allowed.join(', ')}`)
  return xs
}

/** Writes a log line to stderr. */
export function log(...args) {
  console.error('[peers]', ...args)
}

/** The machine and runtime, for the record (same fields as bench/lib.ts machine()). */
export function machine() {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU'
  return `${cpu}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`
}

/** The p-th percentile (0..100) of `xs` (sorted in place), nearest rank, or null when empty. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return null
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]
}

/** Rounds to `d` decimals (for compact JSON). */
export function round(x, d = 1) {
  if (x === null || !Number.isFinite(x)) return null
  const f = 10 ** d
  return Math.round(x * f) / f
}

/**
 * Runs `workers` copies of `op` (each a sequential loop of awaited operations, one operation per
 * call) for a warm-up of min(0.3 s, seconds/5) and then for `seconds`, and returns operations
 * completed inside the timed window per second plus latencies (ms, sorted) of operations that
 * both started and ended inside it. `op(i)` gets the worker index.
 */
export async function timedLoops(workers, seconds, op) {
  const warmMs = Math.min(300, seconds * 200)
  const t0 = performance.now()
  const start = t0 + warmMs
  const end = start + seconds * 1000
  let ops = 0
  const lat = []
  const loop = async (i) => {
    for (;;) {
      const a = performance.now()
      if (a >= end) return
      await op(i)
      const b = performance.now()
      if (b >= start && b <= end) ops++
      if (a >= start && b <= end) lat.push(b - a)
    }
  }
  await Promise.all(Array.from({ length: workers }, (_, i) => loop(i)))
  lat.sort((x, y) => x - y)
  return { opsPerSec: ops / seconds, latencies: lat }
}

/** Prints the single JSON result line on stdout. */
export function emit(result) {
  process.stdout.write(`${JSON.stringify(result)}\n`)
}

/**
 * Runs `main`, prints its result as the one JSON line and exits (some libraries leave handles
 * open; the result is complete once printed). Errors go to stderr with exit code 1.
 */
export function run(main) {
  main().then(
    (result) => {
      emit(result)
      process.exit(0)
    },
    (err) => {
      console.error(err)
      process.exit(1)
    },
  )
}
