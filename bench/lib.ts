/**
 * Benchmark plumbing: timed runs, a result table with ratios against a baseline measured in
 * the same run, and the machine description recorded next to the numbers.
 */
import os from 'node:os'

/** One measured figure. */
export interface Result {
  /** What was measured, e.g. "memswarm tell". */
  name: string
  /** Parameter column, e.g. "64 in flight". */
  variant: string
  /** Operations per second. */
  opsPerSec: number
  /** Bytes per second, when payload bytes matter. */
  bytesPerSec?: number
  /** Name of the result (same variant) this one is compared with. */
  baseline?: string
  /** Extra text for the notes column (e.g. latency percentiles). */
  note?: string
}

/**
 * Runs `op` (which performs `batch` operations per call) repeatedly for `seconds` after a short
 * warm-up, and returns operations per second.
 */
export async function opsPerSecond(op: () => Promise<number>, seconds: number): Promise<number> {
  const warm = performance.now() + Math.min(300, seconds * 200)
  while (performance.now() < warm) await op()
  let ops = 0
  const start = performance.now()
  const end = start + seconds * 1000
  while (performance.now() < end) ops += await op()
  return ops / ((performance.now() - start) / 1000)
}

/** Prints results as an aligned table with a ratio column against each row's baseline. */
export function printTable(
  title: string,
  results: Result[],
  print: (s: string) => void = console.log,
): void {
  const byKey = new Map(results.map((r) => [`${r.name}|${r.variant}`, r]))
  const rows = [['benchmark', 'variant', 'ops/s', 'MB/s', 'vs baseline', 'notes']]
  for (const r of results) {
    const base = r.baseline ? byKey.get(`${r.baseline}|${r.variant}`) : undefined
    rows.push([
      r.name,
      r.variant,
      fmt(r.opsPerSec),
      r.bytesPerSec === undefined ? '' : (r.bytesPerSec / 1e6).toFixed(1),
      base ? `${((100 * r.opsPerSec) / base.opsPerSec).toFixed(0)}% of ${r.baseline}` : '',
      r.note ?? '',
    ])
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)))
  print(`\n## ${title}\n`)
  for (const [i, row] of rows.entries()) {
    print(`| ${row.map((cell, c) => cell.padEnd(widths[c]!)).join(' | ')} |`)
    if (i === 0) print(`| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`)
  }
}

function fmt(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1)
}

/** The machine and runtime, for the record. */
export function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU'
  return `${cpu}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}, ${new Date().toISOString().slice(0, 10)}`
}

/** The p-th percentile (0..100) of `xs`, nearest rank. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!
}
