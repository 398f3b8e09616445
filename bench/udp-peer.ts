/**
 * The receiving process of the two-process UDP benchmark, started by `bench/udp.ts` with
 * `child_process.fork` (from `dist/bench/`). It runs one receiver at a time, as the parent
 * asks over the IPC channel, and acknowledges progress with datagrams to the parent's ack
 * socket. It exits by itself once the parent disconnects.
 *
 * Requests (`{ id, cmd, ... }`) and replies (`{ id, ... }`):
 * - `start { kind, ackEvery, ackPort }` → `{ port }`: starts a receiver (`startSink`).
 * - `count` → `{ received }`: the receiver's exact count (the parent asks after a stall).
 * - `stop` → `{ received, cpuMicros }`: closes the receiver; `cpuMicros` is this process's CPU
 *   time (user + system) from `start` to `stop`.
 */
import dgram from 'node:dgram'
import {
  HOST,
  type Sink,
  type StackKind,
  closeSocket,
  encodeCount,
  startSink,
} from './udp-stack.js'

/** A request from the benchmark process. */
export type PeerRequest =
  | { id: number; cmd: 'start'; kind: StackKind; ackEvery: number; ackPort: number }
  | { id: number; cmd: 'count' }
  | { id: number; cmd: 'stop' }

/** A reply to the request with the same id. */
export interface PeerReply {
  id: number
  port?: number
  received?: number
  cpuMicros?: number
  error?: string
}

const ackSocket = dgram.createSocket('udp4')
let sink: Sink | undefined
let cpuAtStart: NodeJS.CpuUsage | undefined

async function handle(req: PeerRequest): Promise<Omit<PeerReply, 'id'>> {
  switch (req.cmd) {
    case 'start': {
      if (sink !== undefined) throw new Error('a receiver is running already')
      const { ackPort } = req
      cpuAtStart = process.cpuUsage()
      sink = await startSink(req.kind, req.ackEvery, (n) =>
        ackSocket.send(encodeCount(n), ackPort, HOST),
      )
      return { port: sink.port }
    }
    case 'count':
      return { received: sink?.received ?? 0 }
    case 'stop': {
      const s = sink
      sink = undefined
      if (s === undefined) return { received: 0 }
      await s.close()
      const cpu = process.cpuUsage(cpuAtStart)
      return { received: s.received, cpuMicros: cpu.user + cpu.system }
    }
  }
}

process.on('message', (req: PeerRequest) => {
  handle(req).then(
    (reply) => process.send?.({ id: req.id, ...reply }),
    (err: unknown) => process.send?.({ id: req.id, error: String(err) }),
  )
})

process.on('disconnect', () => {
  const s = sink
  sink = undefined
  void Promise.all([s?.close(), closeSocket(ackSocket)])
})
