/**
 * The UDP stack against raw `node:dgram`: tells/s and MB/s of udpswarm for 64 B and 1200 B
 * payloads next to a raw socket doing the same, in one process and across two processes;
 * fragswarm MB/s for 64 KiB messages; the cost of a p2pmux channel over udpswarm.
 *
 * Every variant runs the same loop: the sender awaits each send and keeps at most a window of
 * messages unacknowledged; the receiver counts and acknowledges (see `udp-stack.ts`). In one
 * process the acknowledgement is a function call; across processes the receiver runs in a
 * child (`udp-peer.ts`, forked from `dist/bench/`) and acknowledges with datagrams to a raw
 * socket of the sender's process, for every variant alike. A rate is messages *received* per
 * second; messages lost (sent but never counted by the receiver) are reported in the notes.
 */
import { type ChildProcess, fork } from 'node:child_process'
import dgram from 'node:dgram'
import os from 'node:os'
import { fileURLToPath } from 'node:url'
import { type Result, opsPerSecond } from './lib.js'
import type { PeerReply, PeerRequest } from './udp-peer.js'
import {
  ACK_NOW,
  bindSocket,
  type StackKind,
  closeSocket,
  decodeCount,
  startSink,
  startSource,
} from './udp-stack.js'

/** Messages per timed operation (tells, and 64 KiB fragswarm messages). */
const BATCH = 2000
const FRAG_BATCH = 32
/**
 * Most unacknowledged messages. 256 datagrams of 1200 B take about 600 KiB of kernel buffer
 * (each costs its truesize, ~2.3 KiB on loopback); receivers ask for `RECV_BUFFER`.
 */
const WINDOW = 256
/** Four 64 KiB messages: 216 datagrams in flight at most. */
const FRAG_WINDOW = 4
/** A receiver acknowledges every this many messages (and the last of each batch at once). */
const ACK_EVERY = WINDOW / 4
/** No acknowledgement for this long while the window is full: ask the receiver for its count. */
const STALL_MS = 200

/** The sender's view of the flow: what it sent and what the receiver acknowledged. */
class Flow {
  sent = 0
  acked = 0
  /** Messages given up as lost after a stall (they no longer hold the window). */
  writtenOff = 0
  #wake: (() => void) | undefined

  /** A running count from the receiver. */
  ack(n: number): void {
    if (n <= this.acked) return
    this.acked = n
    // A message written off that arrives after all frees its slot only once.
    if (this.acked + this.writtenOff > this.sent) this.writtenOff = this.sent - this.acked
    const w = this.#wake
    this.#wake = undefined
    w?.()
  }

  get outstanding(): number {
    return this.sent - this.acked - this.writtenOff
  }

  /**
   * Waits for the next acknowledgement. After `STALL_MS` without one, the receiver's exact
   * count is taken and every message still outstanding is written off as lost.
   */
  async progress(exact: () => Promise<number>): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    const acked = await new Promise<boolean>((resolve) => {
      this.#wake = () => resolve(true)
      timer = setTimeout(() => resolve(false), STALL_MS)
    })
    clearTimeout(timer)
    if (acked) return
    this.#wake = undefined
    this.ack(await exact())
    this.writtenOff = this.sent - this.acked
  }
}

/** A receiver started for one measurement, in this process or in the child. */
interface Receiver {
  readonly port: number
  /** The receiver's exact count now. */
  exact(): Promise<number>
  /** Stops the receiver; resolves with its final count and its process's CPU time (µs). */
  stop(): Promise<{ received: number; cpuMicros: number }>
}

/** A request before it gets its id. */
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never

/** The child process that runs receivers, and the socket its acknowledgements come to. */
class Peer {
  readonly #child: ChildProcess
  readonly #ackSocket: dgram.Socket
  readonly #replies = new Map<
    number,
    { resolve: (r: PeerReply) => void; reject: (e: Error) => void }
  >()
  readonly #exited: Promise<void>
  #onAck: ((n: number) => void) | undefined
  #nextId = 1

  private constructor(child: ChildProcess, ackSocket: dgram.Socket) {
    this.#child = child
    this.#ackSocket = ackSocket
    ackSocket.on('message', (buf) => {
      const n = decodeCount(buf)
      if (n !== undefined) this.#onAck?.(n)
    })
    child.on('message', (r: PeerReply) => {
      const waiter = this.#replies.get(r.id)
      this.#replies.delete(r.id)
      if (r.error !== undefined) waiter?.reject(new Error(`udp-peer: ${r.error}`))
      else waiter?.resolve(r)
    })
    this.#exited = new Promise<void>((resolve) => {
      child.once('exit', (code, sig) => {
        for (const w of this.#replies.values()) {
          w.reject(new Error(`udp-peer exited (${code ?? sig}) before answering`))
        }
        this.#replies.clear()
        resolve()
      })
    })
  }

  /** Forks `udp-peer.js` (beside this file) and binds the acknowledgement socket. */
  static async start(): Promise<Peer> {
    const ackSocket = dgram.createSocket({ type: 'udp4' })
    await bindSocket(ackSocket)
    const child = fork(fileURLToPath(new URL('./udp-peer.js', import.meta.url)))
    return new Peer(child, ackSocket)
  }

  #request(req: WithoutId<PeerRequest>): Promise<PeerReply> {
    const id = this.#nextId++
    return new Promise<PeerReply>((resolve, reject) => {
      this.#replies.set(id, { resolve, reject })
      this.#child.send({ ...req, id })
    })
  }

  async receiver(kind: StackKind, ackEvery: number, onAck: (n: number) => void): Promise<Receiver> {
    this.#onAck = onAck
    const ackPort = this.#ackSocket.address().port
    const { port } = await this.#request({ cmd: 'start', kind, ackEvery, ackPort })
    return {
      port: port!,
      exact: async () => (await this.#request({ cmd: 'count' })).received ?? 0,
      stop: async () => {
        const { received, cpuMicros } = await this.#request({ cmd: 'stop' })
        this.#onAck = undefined
        return { received: received ?? 0, cpuMicros: cpuMicros ?? 0 }
      },
    }
  }

  /** Disconnects (the child then closes its sockets and exits) and closes the ack socket. */
  async close(): Promise<void> {
    if (this.#child.connected) this.#child.disconnect()
    await this.#exited
    await closeSocket(this.#ackSocket)
  }
}

interface Measured {
  opsPerSec: number
  sent: number
  received: number
  /** CPU time (user + system) of every process involved, warm-up included, in µs. */
  cpuMicros: number
}

/** Rounds per comparison: the variants take turns, and each reports its median round. */
const ROUNDS = 3

/** A variant in a comparison: its row name, what it runs, and its baseline row. */
interface Variant {
  name: string
  kind: StackKind
  baseline?: string
}

/**
 * Measures `variants` in `ROUNDS` interleaved rounds (the order rotates each round) of
 * `seconds / ROUNDS` each, so a burst of load from elsewhere on the machine hits all of them
 * alike; each variant's rate is its median round, its loss the sum over its rounds.
 */
async function compare(
  variants: readonly Variant[],
  size: number,
  seconds: number,
  peer: Peer | undefined,
): Promise<Map<string, Measured>> {
  const runs = new Map<string, Measured[]>(variants.map((v) => [v.name, []]))
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < variants.length; i++) {
      const v = variants[(i + r) % variants.length]!
      runs.get(v.name)!.push(await measure(v.kind, size, seconds / ROUNDS, peer))
    }
  }
  const out = new Map<string, Measured>()
  for (const [name, ms] of runs) {
    const rates = ms.map((m) => m.opsPerSec).sort((a, b) => a - b)
    out.set(name, {
      opsPerSec: rates[Math.floor(rates.length / 2)]!,
      sent: ms.reduce((n, m) => n + m.sent, 0),
      received: ms.reduce((n, m) => n + m.received, 0),
      cpuMicros: ms.reduce((n, m) => n + m.cpuMicros, 0),
    })
  }
  return out
}

/** Runs one variant for `seconds` (after a warm-up) and stops its sender and receiver. */
async function measure(
  kind: StackKind,
  size: number,
  seconds: number,
  peer: Peer | undefined,
): Promise<Measured> {
  const frag = kind === 'fragswarm'
  const window = frag ? FRAG_WINDOW : WINDOW
  const ackEvery = frag ? 1 : ACK_EVERY
  const batch = frag ? FRAG_BATCH : BATCH
  const plain = new Uint8Array(size)
  const last = new Uint8Array(size)
  last[0] = ACK_NOW
  const flow = new Flow()
  const cpuAtStart = process.cpuUsage()
  let receiver: Receiver
  if (peer === undefined) {
    const sink = await startSink(kind, ackEvery, (n) => flow.ack(n))
    receiver = {
      port: sink.port,
      exact: async () => sink.received,
      stop: async () => {
        await sink.close()
        return { received: sink.received, cpuMicros: 0 }
      },
    }
  } else {
    receiver = await peer.receiver(kind, ackEvery, (n) => flow.ack(n))
  }
  let opsPerSec = 0
  let stopped = { received: 0, cpuMicros: 0 }
  try {
    const source = await startSource(kind, receiver.port)
    const exact = () => receiver.exact()
    try {
      opsPerSec = await opsPerSecond(async () => {
        const start = flow.acked
        for (let i = 0; i < batch; i++) {
          while (flow.outstanding >= window) await flow.progress(exact)
          await source.send(i === batch - 1 ? last : plain)
          flow.sent++
        }
        while (flow.outstanding > 0) await flow.progress(exact)
        return flow.acked - start
      }, seconds)
    } finally {
      await source.close()
    }
  } finally {
    stopped = await receiver.stop()
  }
  const cpu = process.cpuUsage(cpuAtStart)
  return {
    opsPerSec,
    sent: flow.sent,
    received: stopped.received,
    cpuMicros: cpu.user + cpu.system + stopped.cpuMicros,
  }
}

/** CPU µs per payload byte, or undefined when nothing arrived. */
function cpuPerByte(m: Measured, size: number): number | undefined {
  return m.received > 0 ? m.cpuMicros / (m.received * size) : undefined
}

/**
 * A table row. The notes give the CPU time per message of every process involved, its ratio
 * to the CPU time of `base` per payload byte (the same as per message at the same size), and
 * the loss.
 */
function row(
  name: string,
  variant: string,
  m: Measured,
  size: number,
  base?: { name: string; m: Measured; size: number; inTable: boolean },
  extra?: string,
): Result {
  const lost = m.sent - m.received
  const loss =
    lost <= 0 ? 'no loss' : `lost ${lost} of ${m.sent} (${((100 * lost) / m.sent).toFixed(3)}%)`
  const own = cpuPerByte(m, size)
  const other = base === undefined ? undefined : cpuPerByte(base.m, base.size)
  let cpu: string | undefined
  if (own !== undefined) {
    cpu = `CPU ${(own * size).toFixed(2)} µs/msg`
    if (other !== undefined) cpu += ` = ${(own / other).toFixed(2)}× ${base!.name}`
  }
  return {
    name,
    variant,
    opsPerSec: m.opsPerSec,
    bytesPerSec: m.opsPerSec * size,
    ...(base?.inTable ? { baseline: base.name } : {}),
    note: [cpu, loss, extra].filter((s) => s !== undefined).join('; '),
  }
}

const TELLS: readonly Variant[] = [
  { name: 'raw dgram', kind: 'dgram' },
  { name: 'raw dgram, default lookup', kind: 'dgram-default-lookup', baseline: 'raw dgram' },
  { name: 'udpswarm tell', kind: 'udpswarm', baseline: 'raw dgram' },
]
const MUX: readonly Variant[] = [
  { name: 'p2pmux string channel', kind: 'mux-string', baseline: 'udpswarm tell' },
  { name: 'p2pmux uint16 channel', kind: 'mux-uint16', baseline: 'udpswarm tell' },
]
const FRAG: Variant = { name: 'fragswarm tell', kind: 'fragswarm' }
const FRAG_SIZE = 64 * 1024

/** Runs the UDP benchmarks (one process, then two). */
export async function benchUdp(seconds: number): Promise<Result[]> {
  const out: Result[] = []
  const load = () => os.loadavg()[0]!.toFixed(1)
  const loadBefore = load()
  const peer = await Peer.start()
  try {
    for (const p of [undefined, peer]) {
      const mode = p === undefined ? '1 process' : '2 processes'
      let udp1200: Measured | undefined
      for (const size of [64, 1200]) {
        const variant = `${size} B, ${mode}`
        const variants = size === 64 ? [...TELLS, ...MUX] : TELLS
        const got = await compare(variants, size, seconds, p)
        for (const v of variants) {
          const base =
            v.baseline === undefined
              ? undefined
              : { name: v.baseline, m: got.get(v.baseline)!, size, inTable: true }
          out.push(row(v.name, variant, got.get(v.name)!, size, base))
        }
        if (size === 1200) udp1200 = got.get('udpswarm tell')
      }
      const frag = (await compare([FRAG], FRAG_SIZE, seconds, p)).get(FRAG.name)!
      const base = { name: 'udpswarm 1200 B', m: udp1200!, size: 1200, inTable: false }
      const pct = ((100 * frag.opsPerSec * FRAG_SIZE) / (base.m.opsPerSec * 1200)).toFixed(0)
      out.push(
        row(FRAG.name, `64 KiB, ${mode}`, frag, FRAG_SIZE, base, `${pct}% of udpswarm 1200 B MB/s`),
      )
    }
  } finally {
    await peer.close()
  }
  console.log(`udp: 1-minute load average ${loadBefore} before, ${load()} after`)
  return out
}
