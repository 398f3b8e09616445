/**
 * Reliable asks: asks per second and round-trip latency (p50/p99) of a 64 B echo with 1, 16 and
 * 64 asks in flight, for swarmwire's ask stacks and for the request/response forms of peer
 * libraries, measured in the same run on the same machine, both ends in one process.
 *
 * Ours (askswarm over a datagram swarm; askswarm's defaults, so at most 32 asks in flight per
 * peer and the rest queued in `ask`, their queueing time counted in the latency):
 * - `udp → p2pke → ask`: `secureUDPStack('127.0.0.1:0')` on both sides (the default backend);
 * - `udp → ask`: `newAskSwarm(UDPSwarm)` on 127.0.0.1, no encryption;
 * - `mem → p2pke → ask`: `secureMemStack` (memswarm without faults);
 * - `mem → ask`: `newAskSwarm(realm.newSwarm())`.
 * N concurrent loops each ask the server in turn; the server answers through `serveAsks` with
 * N handler slots, echoing the request. The first ask (and handshake) precede the warm-up.
 *
 * Peers (`bench/peers/reqresp.mjs`, a child process): js-libp2p 2.x over TCP + Noise + yamux
 * and over QUIC, as a stream per request (its idiomatic request/response) and in its fastest
 * forms (one pipelined stream, N streams); @hyperswarm/secret-stream echo over TCP. See
 * bench/peers/README.md.
 *
 * All take turns in `ROUNDS` rounds; rates and percentiles are medians over the rounds. "CPU" is
 * this process's CPU time per ask (both ends, every thread).
 */
import { setMaxListeners } from 'node:events'
import { type Addr, type AskSwarm, serveAsks } from '../core/index.js'
import { newAskSwarm } from '../s/askswarm/index.js'
import { Realm } from '../s/memswarm/index.js'
import { UDPSwarm } from '../s/udpswarm/index.js'
import { secureMemStack, secureUDPStack } from '../stack/index.js'
import type { Result } from './lib.js'
import {
  type Runner,
  type Sample,
  type Summary,
  cpuNote,
  interleave,
  load,
  ms,
  percentileOf,
  spreadNote,
} from './p2pke-lib.js'
import { type PeerReqRespResult, type PeerReqRespRow, runPeerBench } from './peers.js'

const SIZE = 64
const IN_FLIGHT = [1, 16, 64] as const
const HOST = '127.0.0.1'

/** Our stacks, by row name. */
const STACKS = {
  'udp → p2pke → ask': async () => {
    const [a, b] = await Promise.all([secureUDPStack(`${HOST}:0`), secureUDPStack(`${HOST}:0`)])
    return pair(a, b)
  },
  'udp → ask': async () => {
    const [a, b] = await Promise.all([UDPSwarm.bind(`${HOST}:0`), UDPSwarm.bind(`${HOST}:0`)])
    return pair(newAskSwarm(a), newAskSwarm(b))
  },
  'mem → p2pke → ask': async () => {
    const realm = new Realm()
    return pair(secureMemStack(realm), secureMemStack(realm), () => realm.close())
  },
  'mem → ask': async () => {
    const realm = new Realm()
    return pair(newAskSwarm(realm.newSwarm()), newAskSwarm(realm.newSwarm()), () => realm.close())
  },
} as const
type StackName = keyof typeof STACKS

/** The stacks measured again with a long-running server, and their in-flight level. */
const LONG_RUNNING: readonly StackName[] = ['udp → p2pke → ask', 'udp → ask']
const LONG_RUNNING_IN_FLIGHT = 16
/** Give up filling a server's memory after this long (it is reported). */
const FILL_LIMIT_MS = 60_000

/** A client and a server of one stack, the server answering with `MAX_IN_FLIGHT` slots. */
interface Pair {
  client: AskSwarm<Addr>
  server: AskSwarm<Addr>
  dst: Addr
  /** The server's at-most-once memory (askswarm `stats().memory`). */
  memory(): { answers: number; tombstones: number; tombstonesEvicted: number }
  close(): Promise<void>
}

const MAX_IN_FLIGHT = Math.max(...IN_FLIGHT)

function pair<A extends Addr>(
  client: AskSwarm<A>,
  server: AskSwarm<A>,
  after?: () => Promise<void>,
): Pair {
  const stop = new AbortController()
  setMaxListeners(MAX_IN_FLIGHT + 4, stop.signal)
  const serving = serveAsks(server, (req) => req.payload, {
    concurrency: MAX_IN_FLIGHT,
    signal: stop.signal,
  })
  const stats = server as unknown as { stats(): { memory: ReturnType<Pair['memory']> } }
  return {
    client: client as unknown as AskSwarm<Addr>,
    server: server as unknown as AskSwarm<Addr>,
    dst: server.localAddrs()[0]!,
    memory: () => stats.stats().memory,
    close: async () => {
      stop.abort()
      await Promise.all([client.close(), server.close()])
      await serving
      await after?.()
    },
  }
}

const REQUEST = new Uint8Array(SIZE).fill(5)

async function echo(p: Pair): Promise<void> {
  const res = await p.client.ask(p.dst, REQUEST)
  if (res.length !== SIZE) throw new Error(`echo of ${res.length} bytes, expected ${SIZE}`)
}

/**
 * One round on a fresh pair of `stack` (its first ask, and handshake, before the warm-up).
 */
async function measureFresh(stack: StackName, inFlight: number, seconds: number): Promise<Sample> {
  const p = await STACKS[stack]()
  try {
    await echo(p)
    return await measureAsks(p, inFlight, seconds)
  } finally {
    await p.close()
  }
}

/** `inFlight` loops of sequential asks for `seconds` after a warm-up. */
async function measureAsks(p: Pair, inFlight: number, seconds: number): Promise<Sample> {
  const warmEnd = performance.now() + Math.min(300, seconds * 200)
  let end = Number.POSITIVE_INFINITY
  let start = Number.POSITIVE_INFINITY
  let cpu0 = process.cpuUsage()
  const latencies: number[] = []
  const loop = async () => {
    for (;;) {
      const t0 = performance.now()
      if (t0 >= end) return
      if (start === Number.POSITIVE_INFINITY && t0 >= warmEnd) {
        // The first loop past the warm-up starts the clock for all.
        start = t0
        end = t0 + seconds * 1000
        cpu0 = process.cpuUsage()
      }
      await echo(p)
      if (t0 >= start) latencies.push(performance.now() - t0)
    }
  }
  await Promise.all(Array.from({ length: inFlight }, loop))
  const elapsed = performance.now() - start
  const cpu = process.cpuUsage(cpu0)
  const ops = latencies.length
  return {
    opsPerSec: ops / (elapsed / 1000),
    ops,
    cpuMicros: cpu.user + cpu.system,
    p50Ms: percentileOf(latencies, 50),
    p99Ms: percentileOf(latencies, 99),
  }
}

/** askswarm's default `maxTombstones`. */
const MAX_TOMBSTONES = 65536

/**
 * Asks with `MAX_IN_FLIGHT` loops until the server holds `MAX_TOMBSTONES` tombstones, as a
 * server does once it has answered more than `maxAnswers + maxTombstones` (69,632) asks within
 * an ask's lifetime there (its deadline plus `answerSlackMs`: 11 s with the defaults). Returns
 * the asks it took, or undefined when the server was not full after `FILL_LIMIT_MS`.
 */
async function fill(p: Pair): Promise<number | undefined> {
  const give = performance.now() + FILL_LIMIT_MS
  let asks = 0
  const full = () => p.memory().tombstones >= MAX_TOMBSTONES
  await Promise.all(
    Array.from({ length: MAX_IN_FLIGHT }, async () => {
      while (!full() && performance.now() < give) {
        await echo(p)
        asks++
      }
    }),
  )
  return full() ? asks : undefined
}

/** Row names of the peer baselines. */
function peerName(r: Pick<PeerReqRespRow, 'stack' | 'form'>): string {
  const stack =
    r.stack === 'libp2p-tcp'
      ? 'js-libp2p TCP+noise+yamux'
      : r.stack === 'libp2p-quic'
        ? 'js-libp2p QUIC'
        : 'secret-stream echo (TCP)'
  const form =
    r.form === 'per-request'
      ? 'stream per request'
      : r.form === 'pipelined'
        ? r.stack === 'secret-stream'
          ? 'one connection, pipelined'
          : 'one stream, pipelined'
        : r.stack === 'secret-stream'
          ? 'N connections'
          : 'N streams'
  return `${stack}, ${form}`
}

function variant(inFlight: number): string {
  return `${SIZE} B, ${inFlight} in flight`
}

/** Runs the ask benchmarks. */
export async function benchAsks(seconds: number): Promise<Result[]> {
  const before = load()
  const runners: Runner[] = []
  for (const stack of Object.keys(STACKS) as StackName[]) {
    for (const n of IN_FLIGHT) {
      runners.push(async (s) => ({ [`${stack}|${n}`]: await measureFresh(stack, n, s) }))
    }
  }
  const peerRows = new Set<string>()
  runners.push(async (s) => {
    const r = (await runPeerBench('reqresp.mjs', [
      '--seconds',
      String(s),
      '--inflight',
      IN_FLIGHT.join(','),
      '--size',
      String(SIZE),
    ])) as PeerReqRespResult | undefined
    const got: Record<string, Sample> = {}
    for (const row of r?.results ?? []) {
      peerRows.add(peerName(row))
      got[`${peerName(row)}|${row.inflight}`] = {
        opsPerSec: row.roundTripsPerSec,
        ops: 0,
        cpuMicros: 0,
        ...(row.p50Ms === null ? {} : { p50Ms: row.p50Ms }),
        ...(row.p99Ms === null ? {} : { p99Ms: row.p99Ms }),
      }
    }
    return got
  })
  const got = await interleave(runners, seconds)

  // The same stacks with a long-running server, its at-most-once memory full: topped up (not
  // timed) before every round, so entries that expired meanwhile are replaced.
  const long = new Map<StackName, Pair>()
  const fillNotes = new Map<StackName, string>()
  let longGot: Map<string, Summary>
  try {
    for (const stack of LONG_RUNNING) {
      const p = await STACKS[stack]()
      long.set(stack, p)
      await echo(p)
    }
    longGot = await interleave(
      LONG_RUNNING.map((stack) => async (s: number) => {
        const p = long.get(stack)!
        const filled = await fill(p)
        if (filled === undefined) fillNotes.set(stack, 'server memory NOT full in one round')
        return { [stack]: await measureAsks(p, LONG_RUNNING_IN_FLIGHT, s) }
      }),
      seconds,
    )
  } finally {
    for (const p of long.values()) await p.close()
  }

  const out: Result[] = []
  const latency = (s: Summary) => `p50 ${ms(s.p50Ms)} ms, p99 ${ms(s.p99Ms)} ms`
  for (const n of IN_FLIGHT) {
    const at = (name: string) => got.get(`${name}|${n}`)
    const peers = [...peerRows].flatMap((name) => {
      const s = at(name)
      return s === undefined ? [] : [{ name, s }]
    })
    const best = (prefix: string) =>
      peers
        .filter((p) => p.name.startsWith(prefix))
        .sort((x, y) => y.s.opsPerSec - x.s.opsPerSec)[0]
    const libp2p = best('js-libp2p')
    const secret = best('secret-stream')
    const vs = (s: Summary, other: { name: string; s: Summary } | undefined) =>
      other === undefined
        ? undefined
        : `${(s.opsPerSec / other.s.opsPerSec).toFixed(2)}× and p99 ${ms(s.p99Ms)} vs ${ms(
            other.s.p99Ms,
          )} ms of ${other.name}`
    for (const p of peers) {
      out.push({
        name: p.name,
        variant: variant(n),
        opsPerSec: p.s.opsPerSec,
        note: `${latency(p.s)}; ${spreadNote(p.s)}`,
      })
    }
    const ours: { stack: StackName; baseline: string | undefined }[] = [
      { stack: 'udp → p2pke → ask', baseline: libp2p?.name },
      { stack: 'udp → ask', baseline: libp2p?.name },
      { stack: 'mem → p2pke → ask', baseline: 'mem → ask' },
      { stack: 'mem → ask', baseline: undefined },
    ]
    for (const o of ours) {
      const s = at(o.stack)!
      const notes = [cpuNote(s, 'ask'), latency(s)]
      if (o.stack.startsWith('udp')) notes.push(vs(s, secret))
      if (o.stack === 'udp → p2pke → ask') {
        const plain = at('udp → ask')
        if (plain?.cpuPerOp !== undefined && s.cpuPerOp !== undefined) {
          notes.push(
            `p2pke adds ${(s.cpuPerOp - plain.cpuPerOp).toFixed(1)} µs CPU/ask to udp → ask`,
          )
        }
      }
      notes.push(spreadNote(s))
      out.push({
        name: o.stack,
        variant: variant(n),
        opsPerSec: s.opsPerSec,
        ...(o.baseline === undefined ? {} : { baseline: o.baseline }),
        note: notes.filter((x) => x !== undefined).join('; '),
      })
    }
    if (n === LONG_RUNNING_IN_FLIGHT) out.push(...longRows())
  }
  console.log(`asks: 1-minute load average ${before} before, ${load()} after`)
  return out

  function longRows(): Result[] {
    return LONG_RUNNING.map((stack) => {
      const s = longGot.get(stack)!
      return {
        name: `${stack}, long-running server`,
        variant: variant(LONG_RUNNING_IN_FLIGHT),
        opsPerSec: s.opsPerSec,
        baseline: stack,
        note: [
          cpuNote(s, 'ask'),
          latency(s),
          `server holding ${MAX_TOMBSTONES} tombstones and its answer cache full`,
          fillNotes.get(stack),
          spreadNote(s),
        ]
          .filter((x) => x !== undefined)
          .join('; '),
      }
    })
  }
}
