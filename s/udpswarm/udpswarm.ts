/**
 * UDPSwarm: a Swarm over one `node:dgram` socket.
 *
 * - Addresses are `UDPAddr` (`ip:port`, `[ip]:port`; see `addr.ts`).
 * - `tell` hands the payload's parts to `socket.send(list)` (gathered by the kernel, never
 *   concatenated here) and resolves when the socket reports the datagram sent.
 * - Received datagrams wait in a bounded inbox (`newMessageInbox`) until `receive` takes them;
 *   past its limits they are dropped and counted.
 * - A socket bound to a wildcard (`0.0.0.0`, `::`) lists the host's interface addresses in
 *   `localAddrs()`, and a received message's `dst` is the local address chosen by the rules in
 *   `local.ts` (Node cannot tell which interface a datagram arrived on).
 */
import dgram from 'node:dgram'
import { readFileSync } from 'node:fs'
import { closeSocket } from './socket.js'
import type {
  CallOptions,
  HasStats,
  Inbox,
  InboxStats,
  Message,
  Payload,
  Swarm,
} from '../../core/index.js'
import {
  BadAddrError,
  BusyError,
  ClosedError,
  CloseOnce,
  errorCode,
  InUseError,
  MTUExceededError,
  NotAllowedError,
  newMessageInbox,
  receiveOne,
  UnreachableError,
} from '../../core/index.js'
import {
  canonicalIP,
  isUnspecified,
  type ParsedIP,
  parseBindAddr,
  parseIP,
  parseUDPAddr,
  trustedUDPAddr,
  UDPAddr,
} from './addr.js'
import {
  interfaceEntries,
  type LocalEntry,
  LocalAddrTable,
  loopbackEntry,
  type WildcardFamilies,
} from './local.js'

/** Default mtu: 1280 (the IPv6 minimum link MTU) minus 40 (IPv6 header) minus 8 (UDP header). */
export const DEFAULT_MTU = 1232
/** The largest UDP payload over IPv4: 65535 − 20 (IPv4 header) − 8 (UDP header). */
export const MAX_PAYLOAD_IPV4 = 65507
/** The largest UDP payload over IPv6 without jumbograms: 65535 − 8 (UDP header). */
export const MAX_PAYLOAD_IPV6 = 65527
/** What `maxIncomingSize()` reports: no UDP datagram is larger. */
export const MAX_INCOMING_SIZE = 65535

/** Most sender IPv6 texts whose canonical form is remembered before the cache is cleared. */
const SRC_CACHE_MAX = 1024

/** A bind address as host (IP text; `0.0.0.0`/`::` for every interface) and port (0: any free port). */
export interface BindAddr {
  host: string
  port: number
}

/** Options of `UDPSwarm.bind`. */
export interface UDPSwarmOptions {
  /**
   * Largest payload `tell` accepts (default 1232, safe on any IPv6 path and nearly every IPv4
   * path). `mtu(dst)` is this, capped at 65507 for IPv4 and 65527 for IPv6 destinations.
   */
  mtu?: number
  /** Most received messages held while nobody receives (default 1024). */
  inboxItems?: number
  /** Most payload bytes held while nobody receives (default 16 MiB). */
  inboxBytes?: number
  /**
   * For a `::` bind: accept IPv6 only (true) or IPv6 and IPv4 through IPv4-mapped addresses
   * (false, the default: one dual-stack socket, where the system allows it; on Linux a
   * `net.ipv6.bindv6only = 1` sysctl makes it IPv6-only and this swarm then says so).
   */
  ipv6Only?: boolean
  /** Allow sending to broadcast addresses (`SO_BROADCAST`; default false: such tells are refused). */
  broadcast?: boolean
  /** `SO_REUSEADDR` (default false). */
  reuseAddr?: boolean
  /** `SO_RCVBUF` in bytes (default: the system's). */
  recvBufferSize?: number
  /** `SO_SNDBUF` in bytes (default: the system's). */
  sendBufferSize?: number
  /** Called with every error the socket emits after binding (they are also counted). Default: none. */
  onSocketError?: (err: Error) => void
  /** Aborts the bind. */
  signal?: AbortSignal
}

/** Counters of a `UDPSwarm`. */
export interface UDPSwarmStats {
  [name: string]: number | InboxStats
  /** Tells the socket reported sent. */
  tellsSent: number
  /** Payload bytes of those tells. */
  bytesSent: number
  /** Tells that failed after reaching the socket (the rejection carries why). */
  sendErrors: number
  /** Datagrams read from the socket. */
  received: number
  /** Payload bytes of those datagrams. */
  bytesReceived: number
  /** Datagrams dropped because the sender's address could not be represented. */
  droppedBadSource: number
  /** Errors the socket emitted (counted, never thrown). */
  socketErrors: number
  /** The inbox of received messages: `droppedFull` counts datagrams dropped while nobody received. */
  inbox: InboxStats
}

/** A dgram lookup that only passes IP literals through (every address reaching it is one). */
function literalLookup(family: 4 | 6) {
  return (
    host: string,
    _opts: unknown,
    cb: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
  ): void => cb(null, host, family)
}

/**
 * A swarm over one UDP socket. Create with `UDPSwarm.bind`.
 *
 * Guarantees: `tell` never copies or modifies the caller's buffers and keeps no reference to
 * them once settled; the caller must not modify them before it settles. A received payload is
 * a `Uint8Array` over memory of its own. Socket errors never crash the process: they reject
 * the call they belong to or are counted in `stats()`.
 */
export class UDPSwarm implements Swarm<UDPAddr>, HasStats {
  readonly #socket: dgram.Socket
  readonly #closer = new CloseOnce()
  readonly #inbox: Inbox<Message<UDPAddr>>
  readonly #mtu: number
  readonly #canV4: boolean
  readonly #canV6: boolean
  readonly #v4Mapped: boolean
  readonly #wildcard: WildcardFamilies | undefined
  readonly #bound: BindAddr
  readonly #allowBroadcast: boolean
  readonly #broadcasts: Set<string>
  readonly #srcCache = new Map<string, string | undefined>()
  readonly #pending = new Set<(err: unknown) => void>()
  #table: LocalAddrTable
  #fixedDst: UDPAddr | undefined
  #tellsSent = 0
  #bytesSent = 0
  #sendErrors = 0
  #received = 0
  #bytesReceived = 0
  #droppedBadSource = 0
  #socketErrors = 0

  /**
   * Binds a UDP socket and returns the swarm over it. `addr` is `ip:port` / `[ip]:port` text
   * or `{host, port}`; `0.0.0.0` / `::` bind every interface and port 0 picks a free port.
   * An IPv4 (or IPv4-mapped) host makes an IPv4 socket, an IPv6 host an IPv6 socket.
   *
   * Rejects with `BadAddrError` for a malformed address or one that is not local,
   * `InUseError` when the port is taken, `NotAllowedError` when binding is not permitted,
   * `RangeError` for a bad option, and `signal.reason` when aborted. A failed bind leaves no
   * socket behind.
   */
  static async bind(addr: string | BindAddr, opts: UDPSwarmOptions = {}): Promise<UDPSwarm> {
    opts.signal?.throwIfAborted()
    const { host, port } = typeof addr === 'string' ? parseBindAddr(addr) : checkBindAddr(addr)
    const mtu = opts.mtu ?? DEFAULT_MTU
    if (!Number.isInteger(mtu) || mtu < 1 || mtu > MAX_PAYLOAD_IPV6) {
      throw new RangeError(`mtu must be an integer in 1..${MAX_PAYLOAD_IPV6}, got ${mtu}`)
    }
    for (const name of ['inboxItems', 'inboxBytes', 'recvBufferSize', 'sendBufferSize'] as const) {
      const v = opts[name]
      if (v !== undefined && !(Number.isInteger(v) && v > 0)) {
        throw new RangeError(`${name} must be a positive integer, got ${v}`)
      }
    }
    const parsed = parseIP(host)
    const family = parsed.family
    const ipv6Only = family === 6 && (opts.ipv6Only === true || systemV6Only())
    const socket = dgram.createSocket({
      type: family === 4 ? 'udp4' : 'udp6',
      ipv6Only: family === 6 && opts.ipv6Only === true,
      reuseAddr: opts.reuseAddr === true,
      recvBufferSize: opts.recvBufferSize,
      sendBufferSize: opts.sendBufferSize,
      lookup: literalLookup(family),
    })
    const errors: Error[] = []
    const earlyError = (err: Error) => errors.push(err)
    socket.on('error', earlyError)
    try {
      await listen(socket, parsed, port, opts.signal)
      if (opts.broadcast === true) socket.setBroadcast(true)
    } catch (err) {
      await closeSocket(socket)
      throw err
    }
    socket.off('error', earlyError)
    const swarm = new UDPSwarm(socket, parsed, ipv6Only, mtu, opts)
    for (const err of errors) swarm.#onError(err)
    return swarm
  }

  private constructor(
    socket: dgram.Socket,
    host: ParsedIP,
    ipv6Only: boolean,
    mtu: number,
    opts: UDPSwarmOptions,
  ) {
    this.#socket = socket
    this.#mtu = mtu
    this.#inbox = newMessageInbox<UDPAddr>({
      maxItems: opts.inboxItems ?? 1024,
      maxBytes: opts.inboxBytes ?? 16 << 20,
    })
    const port = socket.address().port
    this.#bound = { host: host.ip, port }
    const wildcard = isUnspecified(host.bytes)
    this.#wildcard = !wildcard ? undefined : host.family === 4 ? 'ipv4' : ipv6Only ? 'ipv6' : 'dual'
    this.#canV6 = host.family === 6
    this.#canV4 = host.family === 4 || this.#wildcard === 'dual'
    this.#v4Mapped = host.family === 6
    this.#allowBroadcast = opts.broadcast === true
    this.#broadcasts = broadcastAddrs()
    this.#table = this.#buildTable()
    this.#fixedDst = wildcard ? undefined : this.#table.addrs()[0]
    if (opts.onSocketError !== undefined) {
      const hook = opts.onSocketError
      socket.on('error', (err) => {
        try {
          hook(err)
        } catch {
          // A throwing hook must not turn a counted socket error into a crash.
        }
      })
    }
    socket.on('error', (err) => this.#onError(err))
    socket.on('message', this.#onMessage)
  }

  /** The bound host (as given, canonical; possibly a wildcard) and the bound port. */
  bound(): BindAddr {
    return { ...this.#bound }
  }

  /** The bound port. */
  get port(): number {
    return this.#bound.port
  }

  /**
   * The addresses this socket can be reached at: the bound address, or for a wildcard bind
   * the host's interface addresses of the socket's families with the bound port (a snapshot
   * taken at bind time or at the last `refreshLocalAddrs()`; see `local.ts` for the order).
   * Never empty, never `0.0.0.0`/`::`.
   */
  localAddrs(): UDPAddr[] {
    return this.#table.addrs()
  }

  /** Re-reads the host's interfaces for a wildcard bind (no effect for a specific bind). */
  refreshLocalAddrs(): void {
    if (this.#wildcard !== undefined) this.#table = this.#buildTable()
  }

  /** The mtu option, capped at 65507 bytes for IPv4 and 65527 for IPv6 destinations. */
  mtu(dst: UDPAddr): number {
    const max = dst.ip.includes(':') ? MAX_PAYLOAD_IPV6 : MAX_PAYLOAD_IPV4
    return Math.min(this.#mtu, max)
  }

  /** 65535: no UDP datagram carries more. */
  maxIncomingSize(): number {
    return MAX_INCOMING_SIZE
  }

  /** `parseUDPAddr`: strict; throws `BadAddrError`. */
  parseAddr(text: string): UDPAddr {
    return parseUDPAddr(text)
  }

  /**
   * Sends one datagram whose payload is the concatenation of `data`'s parts (gathered by the
   * socket, not copied here). Resolves when the socket reports it sent: no promise of delivery.
   *
   * Rejects with `MTUExceededError` (larger than `mtu(dst)`, or the kernel's EMSGSIZE),
   * `BadAddrError` (a destination of a family this socket cannot reach),
   * `NotAllowedError` (broadcast without the `broadcast` option, or EACCES/EPERM),
   * `UnreachableError` (EHOSTUNREACH, ENETUNREACH and other send failures),
   * `BusyError` (ENOBUFS, EAGAIN), `ClosedError`, or `signal.reason` when the signal is
   * already aborted (a datagram handed to the socket cannot be recalled). The OS error is the
   * rejection's `cause`.
   */
  tell(dst: UDPAddr, data: Payload, opts?: CallOptions): Promise<void> {
    if (this.#closer.closed) return Promise.reject(new ClosedError())
    const signal = opts?.signal
    if (signal?.aborted) return Promise.reject(signal.reason)
    let to: UDPAddr
    let size: number
    try {
      to = dst instanceof UDPAddr ? dst : toUDPAddr(dst)
      size = checkedSize(data)
    } catch (err) {
      return Promise.reject(err)
    }
    const v6 = to.ip.includes(':')
    const max = v6 ? MAX_PAYLOAD_IPV6 : MAX_PAYLOAD_IPV4
    const mtu = Math.min(this.#mtu, max)
    if (size > mtu) return Promise.reject(new MTUExceededError(size, mtu))
    let host: string
    if (v6) {
      if (!this.#canV6) return Promise.reject(this.#familyError(to))
      host = to.ip
    } else {
      if (!this.#canV4) return Promise.reject(this.#familyError(to))
      if (!this.#allowBroadcast && (to.ip === '255.255.255.255' || this.#broadcasts.has(to.ip))) {
        return Promise.reject(
          new NotAllowedError(
            `${to} is a broadcast address; bind with { broadcast: true } to send to it`,
          ),
        )
      }
      host = this.#v4Mapped ? `::ffff:${to.ip}` : to.ip
    }
    return new Promise<void>((resolve, reject) => {
      const done = (err: Error | null) => {
        this.#pending.delete(reject)
        if (err === null) {
          this.#tellsSent++
          this.#bytesSent += size
          resolve()
        } else if (this.#closer.closed) {
          reject(new ClosedError())
        } else {
          this.#sendErrors++
          reject(sendError(err, to, size, mtu))
        }
      }
      this.#pending.add(reject)
      try {
        this.#socket.send(data, to.port, host, done)
      } catch (err) {
        this.#pending.delete(reject)
        this.#sendErrors++
        reject(sendError(err, to, size, mtu))
      }
    })
  }

  /**
   * Takes one received message (waiting for one), calls `fn` and resolves after `fn` settles.
   * Rejects with `ClosedError` after close and `signal.reason` on abort (the message then goes
   * to the next receiver). `msg.src` is the sender; `msg.dst` is the local address it was sent
   * to (for a wildcard bind, the best guess described in `local.ts`).
   */
  receive(fn: (msg: Message<UDPAddr>) => void | Promise<void>, opts?: CallOptions): Promise<void> {
    if (this.#closer.closed) return Promise.reject(new ClosedError())
    // Checked before a message is taken, so a bad argument never consumes one.
    if (typeof fn !== 'function') return Promise.reject(new TypeError('fn must be a function'))
    return receiveOne(this.#inbox, fn, opts)
  }

  /** A snapshot of the counters. */
  stats(): UDPSwarmStats {
    return {
      tellsSent: this.#tellsSent,
      bytesSent: this.#bytesSent,
      sendErrors: this.#sendErrors,
      received: this.#received,
      bytesReceived: this.#bytesReceived,
      droppedBadSource: this.#droppedBadSource,
      socketErrors: this.#socketErrors,
      inbox: this.#inbox.stats(),
    }
  }

  /**
   * Closes the socket (the port is free once this resolves), drops queued messages, and
   * rejects pending and later calls with `ClosedError`. Idempotent.
   */
  close(): Promise<void> {
    return this.#closer.close(async () => {
      const err = new ClosedError()
      this.#inbox.close(err)
      const pending = [...this.#pending]
      this.#pending.clear()
      for (const reject of pending) reject(err)
      this.#socket.off('message', this.#onMessage)
      await closeSocket(this.#socket)
    })
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  readonly #onMessage = (buf: Buffer, rinfo: dgram.RemoteInfo): void => {
    this.#received++
    this.#bytesReceived += buf.length
    const ip = rinfo.family === 'IPv4' ? rinfo.address : this.#canonicalSrc(rinfo.address)
    if (ip === undefined || !(rinfo.port > 0)) {
      this.#droppedBadSource++
      return
    }
    this.#inbox.put({
      src: trustedUDPAddr(ip, rinfo.port),
      dst: this.#fixedDst ?? this.#table.dstFor(ip),
      payload: new Uint8Array(buf.buffer, buf.byteOffset, buf.length),
    })
  }

  #canonicalSrc(raw: string): string | undefined {
    let ip = this.#srcCache.get(raw)
    if (ip === undefined && !this.#srcCache.has(raw)) {
      try {
        const p = parseIP(raw)
        ip = isUnspecified(p.bytes) ? undefined : p.ip
      } catch {
        ip = undefined
      }
      if (this.#srcCache.size >= SRC_CACHE_MAX) this.#srcCache.clear()
      this.#srcCache.set(raw, ip)
    }
    return ip
  }

  #onError(_err: Error): void {
    this.#socketErrors++
  }

  #familyError(to: UDPAddr): BadAddrError {
    const b = this.#bound
    const text = b.host.includes(':') ? `[${b.host}]:${b.port}` : `${b.host}:${b.port}`
    return new BadAddrError(`cannot send to ${to} from the socket bound to ${text}`)
  }

  #buildTable(): LocalAddrTable {
    const port = this.#bound.port
    if (this.#wildcard === undefined) {
      const p = parseIP(this.#bound.host)
      const entry: LocalEntry = {
        parsed: p,
        mask: new Uint8Array(p.bytes.length).fill(0xff),
        loopback: p.family === 4 ? p.bytes[0] === 127 : p.ip === '::1',
        linkLocal: p.family === 6 && p.ip.startsWith('fe') && /^fe[89ab]/.test(p.ip),
        iface: '',
      }
      return new LocalAddrTable([entry], port)
    }
    let entries = interfaceEntries(this.#wildcard)
    if (entries.length === 0) {
      entries =
        this.#wildcard === 'ipv4'
          ? [loopbackEntry(4)]
          : this.#wildcard === 'ipv6'
            ? [loopbackEntry(6)]
            : [loopbackEntry(4), loopbackEntry(6)]
    }
    return new LocalAddrTable(entries, port)
  }
}

/**
 * The swarm error for a failed send, with the OS error as `cause`. Exported for tests.
 * @internal
 */
export function sendError(err: unknown, dst: UDPAddr, size: number, mtu: number): Error {
  const code = errorCode(err) ?? 'unknown'
  let out: Error
  switch (code) {
    case 'EMSGSIZE':
      out = new MTUExceededError(size, mtu, 'the kernel refused the datagram (EMSGSIZE)')
      break
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
    case 'ENETDOWN':
    case 'ECONNREFUSED':
    case 'EADDRNOTAVAIL':
      out = new UnreachableError(`${dst} (${code})`)
      break
    case 'EACCES':
    case 'EPERM':
      out = new NotAllowedError(
        `sending to ${dst} is not permitted (${code}): broadcast needs the broadcast option, or a firewall refused`,
      )
      break
    case 'EINVAL':
    case 'EAFNOSUPPORT':
      out = new BadAddrError(`cannot send to ${dst} from this socket (${code})`)
      break
    case 'ENOBUFS':
    case 'EAGAIN':
    case 'ENOMEM':
      out = new BusyError(`the socket cannot take more datagrams now (${code})`)
      break
    case 'ECANCELED':
    case 'EBADF':
    case 'ERR_SOCKET_DGRAM_NOT_RUNNING':
      out = new ClosedError('the socket is closed')
      break
    default:
      out = new UnreachableError(`${dst} (send failed: ${code})`)
  }
  Object.defineProperty(out, 'cause', { value: err, writable: true, configurable: true })
  return out
}

/** The swarm error for a failed bind. */
function bindError(err: unknown, host: string, port: number): Error {
  const code = errorCode(err) ?? 'unknown'
  const where = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
  let out: Error
  switch (code) {
    case 'EADDRINUSE':
      out = new InUseError(`${where} is in use`)
      break
    case 'EACCES':
    case 'EPERM':
      out = new NotAllowedError(`binding ${where} is not permitted (${code})`)
      break
    default:
      out = new BadAddrError(`cannot bind ${where} (${code})`)
  }
  Object.defineProperty(out, 'cause', { value: err, writable: true, configurable: true })
  return out
}

function listen(
  socket: dgram.Socket,
  host: ParsedIP,
  port: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const cleanup = () => {
      socket.off('error', onError)
      socket.off('listening', onListening)
      signal?.removeEventListener('abort', onAbort)
    }
    const onError = (err: Error) => {
      cleanup()
      reject(bindError(err, host.ip, port))
    }
    const onListening = () => {
      cleanup()
      resolve()
    }
    const onAbort = () => {
      cleanup()
      reject(signal!.reason)
    }
    socket.once('error', onError)
    socket.once('listening', onListening)
    signal?.addEventListener('abort', onAbort, { once: true })
    try {
      socket.bind({ port, address: host.ip, exclusive: true })
    } catch (err) {
      cleanup()
      reject(bindError(err, host.ip, port))
    }
  })
}

function checkBindAddr(addr: BindAddr): BindAddr {
  if (typeof addr !== 'object' || addr === null) {
    throw new TypeError('addr must be "ip:port" text or { host, port }')
  }
  const { host, port } = addr
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`port must be an integer in 0..65535, got ${String(port)}`)
  }
  return { host: canonicalIP(host), port }
}

/** `payloadSize`, checking that the payload is a Uint8Array or a list of them. */
function checkedSize(data: Payload): number {
  if (data instanceof Uint8Array) return data.length
  if (!Array.isArray(data)) throw new TypeError('data must be a Uint8Array or an array of them')
  let n = 0
  for (const part of data as readonly unknown[]) {
    if (!(part instanceof Uint8Array)) {
      throw new TypeError('data must be a Uint8Array or an array of them')
    }
    n += part.length
  }
  return n
}

function toUDPAddr(dst: unknown): UDPAddr {
  const d = dst as { ip?: unknown; port?: unknown } | null
  if (
    typeof d !== 'object' ||
    d === null ||
    typeof d.ip !== 'string' ||
    typeof d.port !== 'number'
  ) {
    throw new TypeError('dst must be a UDPAddr')
  }
  return new UDPAddr(d.ip, d.port)
}

/** 255.255.255.255 and the directed broadcast address of every IPv4 interface. */
function broadcastAddrs(): Set<string> {
  const out = new Set<string>(['255.255.255.255'])
  for (const e of interfaceEntries('ipv4')) {
    const b = e.parsed.bytes
    const m = e.mask
    // A /31 or /32 has no broadcast address (RFC 3021).
    if (m[3]! >= 0xfe) continue
    out.add(
      `${b[0]! | (~m[0]! & 0xff)}.${b[1]! | (~m[1]! & 0xff)}.${b[2]! | (~m[2]! & 0xff)}.${b[3]! | (~m[3]! & 0xff)}`,
    )
  }
  return out
}

/** Linux: `net.ipv6.bindv6only = 1` makes every IPv6 socket IPv6-only unless told otherwise. */
function systemV6Only(): boolean {
  try {
    return readFileSync('/proc/sys/net/ipv6/bindv6only', 'utf8').trim() === '1'
  } catch {
    return false
  }
}
