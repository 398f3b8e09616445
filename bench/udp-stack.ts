/**
 * The senders and receivers of the UDP benchmark (`bench/udp.ts`), shared by the benchmark
 * process and its child (`bench/udp-peer.ts`): a raw `node:dgram` socket and the swarm stacks
 * udpswarm, fragswarm over udpswarm, and a p2pmux channel over udpswarm.
 *
 * Flow control: a receiver counts what it gets and reports its running count through `ack`
 * every `ackEvery` messages, and at once for a message whose first byte is `ACK_NOW` (the
 * sender flags the last message of a batch that way). The sender keeps at most a window of
 * messages unacknowledged, so the kernel's receive buffer never overflows.
 */
import dgram from 'node:dgram'
import { type Message, type Swarm, isClosedError } from '../core/index.js'
import { newStringMux, newUint16Mux } from '../p/p2pmux/index.js'
import { newFragSwarm } from '../s/fragswarm/index.js'
import { type UDPAddr, UDPSwarm } from '../s/udpswarm/index.js'
import { closeSocket } from '../s/udpswarm/socket.js'

export { closeSocket }

/** What carries the messages. */
export type StackKind =
  | 'dgram'
  | 'dgram-default-lookup'
  | 'udpswarm'
  | 'fragswarm'
  | 'mux-string'
  | 'mux-uint16'

/** Every endpoint binds here. */
export const HOST = '127.0.0.1'
/** `SO_RCVBUF` of every receiving socket, raw or swarm (Linux caps it at `rmem_max`). */
export const RECV_BUFFER = 4 << 20
/** The fragswarm mtu on both sides: a 64 KiB message is 54 datagrams of 1223 data bytes. */
export const FRAG_MTU = 64 * 1024
/** First payload byte of a message the receiver must acknowledge at once. */
export const ACK_NOW = 1
/** String mux channel name and uint16 mux channel id. */
const CHANNEL_NAME = 'bench'
const CHANNEL_ID = 7

/** A running receiver. */
export interface Sink {
  /** The UDP port it listens on (at `HOST`). */
  readonly port: number
  /** Messages received so far. */
  readonly received: number
  /** Payload bytes received so far. */
  readonly bytes: number
  /** Closes every socket and stops the receive loop. */
  close(): Promise<void>
}

/** A running sender towards one sink. */
export interface Source {
  /** Sends one message; resolves when the stack reports it in flight. */
  send(payload: Uint8Array): Promise<void>
  /** Closes every socket. */
  close(): Promise<void>
}

/** Starts a receiver of `kind` on `HOST`; see the module comment for `ack`. */
export async function startSink(
  kind: StackKind,
  ackEvery: number,
  ack: (received: number) => void,
): Promise<Sink> {
  let received = 0
  let bytes = 0
  let lastAck = 0
  const count = (payload: Uint8Array) => {
    received++
    bytes += payload.length
    if (received - lastAck >= ackEvery || payload[0] === ACK_NOW) {
      lastAck = received
      ack(received)
    }
  }
  if (kind === 'dgram' || kind === 'dgram-default-lookup') {
    const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: RECV_BUFFER })
    socket.on('message', count)
    await bindSocket(socket)
    return {
      port: socket.address().port,
      get received() {
        return received
      },
      get bytes() {
        return bytes
      },
      close: () => closeSocket(socket),
    }
  }
  const { swarm, close, port } = await openStack(kind)
  const onMessage = (m: Message<UDPAddr>) => count(m.payload)
  const loop = (async () => {
    for (;;) {
      try {
        await swarm.receive(onMessage)
      } catch (err) {
        if (isClosedError(err)) return
        throw err
      }
    }
  })()
  return {
    port,
    get received() {
      return received
    },
    get bytes() {
      return bytes
    },
    close: async () => {
      await close()
      await loop
    },
  }
}

/** Starts a sender of `kind` towards `HOST:port`. */
export async function startSource(kind: StackKind, port: number): Promise<Source> {
  if (kind === 'dgram' || kind === 'dgram-default-lookup') {
    // A plain socket: bound to HOST as the swarms are, unconnected (it could send anywhere, as
    // a swarm does), a callback per send. 'dgram' passes IP literals through its lookup as
    // udpswarm does; with the default lookup Node runs dns.lookup (an isIP check and a
    // nextTick) before every send.
    const socket = dgram.createSocket(
      kind === 'dgram' ? { type: 'udp4', lookup: literalLookup } : { type: 'udp4' },
    )
    await bindSocket(socket)
    return {
      send: (payload) =>
        new Promise<void>((resolve, reject) => {
          socket.send(payload, port, HOST, (err) => (err ? reject(err) : resolve()))
        }),
      close: () => closeSocket(socket),
    }
  }
  const { swarm, close } = await openStack(kind)
  const dst = swarm.parseAddr(`${HOST}:${port}`)
  return { send: (payload) => swarm.tell(dst, payload), close }
}

/** Binds a udpswarm on `HOST` and builds the stack of `kind` on it. */
async function openStack(
  kind: Exclude<StackKind, 'dgram' | 'dgram-default-lookup'>,
): Promise<{ swarm: Swarm<UDPAddr>; close: () => Promise<void>; port: number }> {
  const udp = await UDPSwarm.bind(`${HOST}:0`, { recvBufferSize: RECV_BUFFER })
  const port = udp.port
  switch (kind) {
    case 'udpswarm':
      return { swarm: udp, close: () => udp.close(), port }
    case 'fragswarm': {
      const frag = newFragSwarm(udp, { mtu: FRAG_MTU })
      return { swarm: frag, close: () => frag.close(), port }
    }
    case 'mux-string': {
      const mux = newStringMux(udp)
      return { swarm: mux.open(CHANNEL_NAME), close: () => mux.close(), port }
    }
    case 'mux-uint16': {
      const mux = newUint16Mux(udp)
      return { swarm: mux.open(CHANNEL_ID), close: () => mux.close(), port }
    }
  }
}

/** A dgram `lookup` for IP literals: answers at once, without dns.lookup. */
function literalLookup(
  host: string,
  _opts: unknown,
  cb: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  cb(null, host, 4)
}

/** Binds a raw socket to an ephemeral port at `HOST`. */
export function bindSocket(socket: dgram.Socket): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(0, HOST, () => {
      socket.off('error', reject)
      resolve()
    })
  })
}

/** A running count as 4 bytes big-endian (an acknowledgement datagram). */
export function encodeCount(n: number): Uint8Array {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, n >>> 0)
  return out
}

/** Reads an acknowledgement datagram; undefined when it is not 4 bytes. */
export function decodeCount(buf: Uint8Array): number | undefined {
  if (buf.length !== 4) return undefined
  return new DataView(buf.buffer, buf.byteOffset, 4).getUint32(0)
}
