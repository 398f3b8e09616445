/**
 * The demo: N nodes that tell and ask each other for a while, then a table of what happened.
 * The stack the nodes run on is a parameter, so the same demo drives memswarm or a real
 * network stack.
 */
import { setMaxListeners } from 'node:events'
import { serveAsks } from '../core/index.js'
import type { Addr, AskSwarm } from '../core/index.js'

/** Options of `runDemo`. */
export interface DemoOptions {
  nodes: number
  seconds: number
  /** Where the table goes (default: stdout). */
  print?: (line: string) => void
}

/** What one node saw. */
export interface NodeReport {
  node: number
  addr: string
  tellsSent: number
  tellsReceived: number
  asksOk: number
  asksFailed: number
  latenciesMs: number[]
}

/** Makes the demo's nodes. */
export type StackFactory<A extends Addr> = (n: number) => Promise<AskSwarm<A>[]>

/** Runs the demo; resolves with per-node reports. Throws when a node could not ask at all. */
export async function runDemo<A extends Addr>(
  make: StackFactory<A>,
  opts: DemoOptions,
): Promise<NodeReport[]> {
  const swarms = await make(opts.nodes)
  const reports: NodeReport[] = swarms.map((s, i) => ({
    node: i,
    addr: String(s.localAddrs()[0]),
    tellsSent: 0,
    tellsReceived: 0,
    asksOk: 0,
    asksFailed: 0,
    latenciesMs: [],
  }))
  const errors: string[] = []
  const stop = new AbortController()
  // Every node's serving and receiving loops share this one signal.
  setMaxListeners(2 * swarms.length + 1, stop.signal)
  const loops = swarms.flatMap((s, i) => [
    serveAsks(s, (req) => req.payload, { signal: stop.signal }),
    receiveCount(s, reports[i]!, stop.signal),
  ])
  const until = performance.now() + opts.seconds * 1000
  try {
    await Promise.all(
      swarms.map(async (s, i) => {
        const r = reports[i]!
        do {
          for (const [j, peer] of swarms.entries()) {
            if (j === i) continue
            const dst = peer.localAddrs()[0]!
            const payload = new TextEncoder().encode(`hello ${j} from ${i}`)
            await s.tell(dst, payload)
            r.tellsSent++
            const t0 = performance.now()
            try {
              await s.ask(dst, payload, { signal: AbortSignal.timeout(5000) })
              r.latenciesMs.push(performance.now() - t0)
              r.asksOk++
            } catch (e) {
              r.asksFailed++
              if (errors.length < 5) errors.push(`node ${i} → ${j}: ${(e as Error).message}`)
            }
          }
        } while (performance.now() < until)
      }),
    )
  } finally {
    stop.abort()
    await Promise.all(swarms.map((s) => s.close()))
    await Promise.all(loops)
  }
  printTable(reports, opts.print ?? console.log)
  const failed = reports.filter((r) => r.asksOk === 0)
  if (failed.length > 0 || errors.length > 0) {
    throw new Error(
      `demo failed: ${failed.length} node(s) got no answers; first errors:\n  ${errors.join('\n  ')}`,
    )
  }
  return reports
}

async function receiveCount<A extends Addr>(
  s: AskSwarm<A>,
  r: NodeReport,
  signal: AbortSignal,
): Promise<void> {
  for (;;) {
    try {
      await s.receive(
        () => {
          r.tellsReceived++
        },
        { signal },
      )
    } catch {
      return // closed or stopped: the demo is over
    }
  }
}

/** The p-th percentile (0..100) of `xs` (nearest rank); NaN when empty. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}

function printTable(reports: NodeReport[], print: (line: string) => void): void {
  const rows = [
    ['node', 'address', 'tells out', 'tells in', 'asks ok', 'failed', 'p50 ms', 'p99 ms'],
    ...reports.map((r) => [
      String(r.node),
      r.addr,
      String(r.tellsSent),
      String(r.tellsReceived),
      String(r.asksOk),
      String(r.asksFailed),
      percentile(r.latenciesMs, 50).toFixed(3),
      percentile(r.latenciesMs, 99).toFixed(3),
    ]),
  ]
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)))
  for (const row of rows) print(row.map((cell, c) => cell.padStart(widths[c]!)).join('  '))
  const all = reports.flatMap((r) => r.latenciesMs)
  const tellsOut = reports.reduce((n, r) => n + r.tellsSent, 0)
  const tellsIn = reports.reduce((n, r) => n + r.tellsReceived, 0)
  print(
    `total: ${tellsIn}/${tellsOut} tells delivered, ${all.length} asks answered, latency p50 ${percentile(all, 50).toFixed(3)} ms, p99 ${percentile(all, 99).toFixed(3)} ms`,
  )
}
