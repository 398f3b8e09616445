/**
 * Sealed-message flows for `bench/p2pke.ts`: p2pkeswarm over memswarm and over udpswarm, raw
 * udpswarm beside them, and the raw AEAD of each crypto backend. Both ends in this process.
 *
 * UDP flows run the loop of `bench/udp.ts`: the sender awaits each send and keeps at most
 * `WINDOW` messages unacknowledged; the receiver counts and acknowledges (a function call)
 * every `ACK_EVERY` messages and at once for the last of a batch. After `STALL_MS` without
 * progress the rest is written off as lost (reported). A rate is messages received per second.
 */
import { type Addr, type Message, type Swarm, isClosedError } from '../core/index.js'
import { type CryptoBackend, getBackend } from '../crypto/index.js'
import { defaultRegistry } from '../f/x509/index.js'
import { Realm } from '../s/memswarm/index.js'
import { newP2PKESwarm } from '../s/p2pkeswarm/index.js'
import { type UDPAddr, UDPSwarm } from '../s/udpswarm/index.js'
import { type Sample, timeAsync, windowed } from './p2pke-lib.js'
import { ACK_NOW, HOST, RECV_BUFFER } from './udp-stack.js'

/** Messages per timed operation. */
const BATCH = 2000
/** Most unacknowledged UDP messages (as bench/udp.ts: ~600 KiB of kernel buffer at 1200 B). */
const WINDOW = 256
/** The receiver acknowledges every this many messages. */
const ACK_EVERY = WINDOW / 4
/** No acknowledgement for this long while the window is full: write the rest off as lost. */
const STALL_MS = 200
/** Most memswarm messages sent but not yet received (bench/memswarm.ts's "64 in flight"). */
const MEM_WINDOW = 64

/** What carries the messages of a flow. */
export type FlowKind = 'udpswarm' | 'p2pke-udp' | 'p2pke-mem'

/** Two ends of a stack in this process: `a` tells `dst` (an address of `b`). */
interface Ends<A extends Addr> {
  a: Swarm<A>
  b: Swarm<A>
  dst: A
  close(): Promise<void>
}

async function udpEnds(): Promise<Ends<UDPAddr>> {
  const opts = { recvBufferSize: RECV_BUFFER }
  const [a, b] = await Promise.all([
    UDPSwarm.bind(`${HOST}:0`, opts),
    UDPSwarm.bind(`${HOST}:0`, opts),
  ])
  return {
    a,
    b,
    dst: b.localAddrs()[0]!,
    close: async () => void (await Promise.all([a.close(), b.close()])),
  }
}

async function p2pkeEnds(
  kind: 'p2pke-udp' | 'p2pke-mem',
  backend: CryptoBackend,
): Promise<Ends<Addr>> {
  const registry = defaultRegistry(backend)
  const opts = () => ({ privateKey: registry.generate(), backend, registry })
  if (kind === 'p2pke-mem') {
    const realm = new Realm()
    const a = newP2PKESwarm(realm.newSwarm(), opts())
    const b = newP2PKESwarm(realm.newSwarm(), opts())
    return {
      a,
      b,
      dst: b.localAddrs()[0]!,
      close: async () => {
        await Promise.all([a.close(), b.close()])
        await realm.close()
      },
    }
  }
  const u = await udpEnds()
  const a = newP2PKESwarm(u.a, opts())
  const b = newP2PKESwarm(u.b, opts())
  return {
    a,
    b,
    dst: b.localAddrs()[0]!,
    close: async () => void (await Promise.all([a.close(), b.close()])),
  }
}

/**
 * One round of a flow of `size`-byte messages for `seconds` (after a warm-up): `a` tells `b`.
 * A P2PKE flow completes its handshake before the warm-up.
 */
export async function measureFlow(
  kind: FlowKind,
  backend: CryptoBackend | undefined,
  size: number,
  seconds: number,
): Promise<Sample> {
  const ends: Ends<Addr> =
    kind === 'udpswarm' ? await udpEnds() : await p2pkeEnds(kind, backend ?? getBackend('sodium'))
  const plain = new Uint8Array(size).fill(7)
  const last = plain.slice()
  last[0] = ACK_NOW
  if (kind === 'p2pke-mem') return memFlow(ends, plain, seconds)
  return udpFlow(ends, plain, last, seconds)
}

/** Windowed tells over memswarm (no loss there); closes `ends`. */
async function memFlow<A extends Addr>(
  ends: Ends<A>,
  plain: Uint8Array,
  seconds: number,
): Promise<Sample> {
  const noop = () => {}
  let sent = 0
  let received = 0
  try {
    const sample = await timeAsync(
      () =>
        windowed(
          BATCH,
          MEM_WINDOW,
          async () => {
            await ends.a.tell(ends.dst, plain)
            sent++
          },
          async () => {
            await ends.b.receive(noop)
            received++
          },
        ),
      seconds,
    )
    return { ...sample, sent, lost: sent - received }
  } finally {
    await ends.close()
  }
}

/** The sender's view of a UDP flow (bench/udp.ts's `Flow`, acknowledged in-process). */
class Flow {
  sent = 0
  acked = 0
  writtenOff = 0
  #wake: (() => void) | undefined

  ack(n: number): void {
    if (n <= this.acked) return
    this.acked = n
    if (this.acked + this.writtenOff > this.sent) this.writtenOff = this.sent - this.acked
    const w = this.#wake
    this.#wake = undefined
    w?.()
  }

  get outstanding(): number {
    return this.sent - this.acked - this.writtenOff
  }

  async progress(exact: () => number): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    const acked = await new Promise<boolean>((resolve) => {
      this.#wake = () => resolve(true)
      timer = setTimeout(() => resolve(false), STALL_MS)
    })
    clearTimeout(timer)
    if (acked) return
    this.#wake = undefined
    this.ack(exact())
    this.writtenOff = this.sent - this.acked
  }
}

/** The acknowledged UDP loop (see the module comment); closes `ends`. */
async function udpFlow<A extends Addr>(
  ends: Ends<A>,
  plain: Uint8Array,
  last: Uint8Array,
  seconds: number,
): Promise<Sample> {
  const flow = new Flow()
  let received = 0
  let lastAck = 0
  const count = (m: Message<A>) => {
    received++
    if (received - lastAck >= ACK_EVERY || m.payload[0] === ACK_NOW) {
      lastAck = received
      flow.ack(received)
    }
  }
  const receiving = (async () => {
    for (;;) {
      try {
        await ends.b.receive(count)
      } catch (err) {
        if (isClosedError(err)) return
        throw err
      }
    }
  })()
  try {
    // Handshake (P2PKE) and first packets outside the measurement: one acknowledged message.
    await ends.a.tell(ends.dst, last)
    flow.sent++
    while (flow.outstanding > 0) await flow.progress(() => received)
    const sample = await timeAsync(async () => {
      const start = flow.acked
      for (let i = 0; i < BATCH; i++) {
        while (flow.outstanding >= WINDOW) await flow.progress(() => received)
        await ends.a.tell(ends.dst, i === BATCH - 1 ? last : plain)
        flow.sent++
      }
      while (flow.outstanding > 0) await flow.progress(() => received)
      return flow.acked - start
    }, seconds)
    return { ...sample, sent: flow.sent, lost: flow.sent - received }
  } finally {
    await ends.close()
    await receiving
  }
}

/** One round of the raw AEAD of `backend`: `seal` alone, or `seal` then `open` of the result. */
export function aeadOp(backend: CryptoBackend, size: number, open: boolean): () => void {
  const key = backend.randomBytes(32)
  const nonce = new Uint8Array(12)
  const header = new Uint8Array(4)
  const plain = new Uint8Array(size).fill(7)
  if (!open) return () => void backend.seal(key, nonce, plain, header)
  return () => {
    const sealed = backend.seal(key, nonce, plain, header)
    if (backend.open(key, nonce, sealed, header) === undefined) throw new Error('open failed')
  }
}
