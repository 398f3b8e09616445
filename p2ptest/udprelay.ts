/**
 * UDPRelay: a UDP impairment relay for tests over real sockets (where the kernel offers no
 * netem). It sits between UDP endpoints and drops, duplicates, delays and reorders datagrams on
 * a seeded, reproducible schedule.
 *
 * How traffic goes through it: the relay binds one *proxy socket per endpoint*, and that socket
 * stands for the endpoint towards everyone it is linked with. After
 * `const { proxyA, proxyB } = await relay.link(a, b)`:
 *
 * ```
 *   A ──► proxyB ┐            ┌ proxyA ──► B     (B sees the datagram come from proxyA)
 *   A ◄── proxyB ┘  impair()  └ proxyA ◄── B     (B answers proxyA; A sees it come from proxyB)
 * ```
 *
 * so A talks to `proxyB` and B to `proxyA`, and replies to `msg.src` go back through the relay
 * without either side knowing. One endpoint may be linked with several others (it keeps one
 * proxy). With the `target` option the relay also works as a front for one server: anyone who
 * sends to `relay.targetAddr` is linked with the target on the fly (NAT-style).
 *
 * The schedule: the i-th datagram the relay accepts (from a linked endpoint) gets the i-th
 * decision of a `SeededRandom(seed)`, and every datagram consumes the same number of draws
 * whatever happens to it, so the same seed and the same traffic give the same decisions.
 * Per datagram, in order:
 * 1. loss: inside a burst it is dropped; else with probability `loss` it is dropped and starts a
 *    burst that drops the next `burstLength - 1` datagrams too;
 * 2. duplicate: with probability `duplicate` a second copy is sent (with its own jitter);
 * 3. delay: each copy waits `delayMs` plus a uniform `[0, jitterMs)` (jitter alone reorders);
 * 4. reorder: with probability `reorder` the first copy is held back until `reorderGap` later
 *    datagrams went out on the same route, or `holdMs` passed, whichever comes first.
 *
 * Bounded: at most `maxQueued` datagrams wait (delayed or held) at once, at most `maxProxies`
 * proxy sockets exist; past either, datagrams are dropped and counted. Links never expire (a
 * test helper; `maxProxies` bounds target mode). `close()` frees every socket and timer.
 * Datagrams from unlinked sources are dropped and counted.
 */
import dgram from 'node:dgram'
import { isIP, SocketAddress } from 'node:net'
import { type Clock, SeededRandom, systemClock } from '../core/index.js'
import { closeSocket } from '../s/udpswarm/socket.js'

/** A UDP endpoint: IP text and port (a udpswarm `UDPAddr` is one). */
export interface UDPEndpoint {
  readonly ip: string
  readonly port: number
}

/** The proxy addresses of a link between A and B. */
export interface UDPLink {
  /** Stands for A: B sends here to reach A, and sees A's datagrams come from here. */
  readonly proxyA: UDPEndpoint
  /** Stands for B: A sends here to reach B, and sees B's datagrams come from here. */
  readonly proxyB: UDPEndpoint
}

/** The impairments; every field is optional and defaults to "no impairment". */
export interface UDPImpairments {
  /** Probability that a datagram is lost (starts a loss burst), 0..1 (default 0). */
  loss?: number
  /** Datagrams a loss burst drops, counting the first (default 1: independent losses). */
  burstLength?: number
  /** Probability that a datagram is sent twice, 0..1 (default 0). */
  duplicate?: number
  /** Probability that a datagram is held back and sent after later ones, 0..1 (default 0). */
  reorder?: number
  /** Later datagrams on the same route that overtake a held one (default 2). */
  reorderGap?: number
  /** Longest a datagram is held for reordering when no later traffic comes, ms (default 50). */
  holdMs?: number
  /** Fixed delay of every datagram, ms (default 0). */
  delayMs?: number
  /** Extra uniform random delay in [0, jitterMs), ms (default 0). */
  jitterMs?: number
}

/** Options of `UDPRelay.start`. */
export interface UDPRelayOptions extends UDPImpairments {
  /** IP the proxy sockets bind to (default `127.0.0.1`); its family is the relay's family. */
  host?: string
  /** Makes the relay a front for this endpoint: see `targetAddr`. */
  target?: UDPEndpoint
  /** Seed of the schedule (default 1). */
  seed?: number
  /** Most datagrams delayed or held at once; more are dropped and counted (default 4096). */
  maxQueued?: number
  /** Most proxy sockets (default 256); in target mode, new senders past it are dropped. */
  maxProxies?: number
  /** Time source for delays and holds (default: the system clock). */
  clock?: Clock
}

/** Counters of a `UDPRelay`. */
export interface UDPRelayStats {
  [name: string]: number
  /** Datagrams read from the proxy sockets. */
  received: number
  /** Datagrams from a source not linked with the proxy they arrived at (dropped). */
  unknownSource: number
  /** Datagrams that entered the schedule (from linked sources). */
  scheduled: number
  /** Datagrams dropped by the loss schedule (bursts included). */
  dropped: number
  /** Datagrams sent twice. */
  duplicated: number
  /** Copies held back for reordering. */
  reordered: number
  /** Copies delayed by `delayMs`/`jitterMs`. */
  delayed: number
  /** Copies dropped because `maxQueued` were already waiting (or a new sender found no room). */
  droppedQueueFull: number
  /** Copies still waiting when the relay closed. */
  droppedClosed: number
  /** Datagrams sent out of the proxy sockets (duplicates count twice). */
  forwarded: number
  /** Sends the socket reported failed. */
  sendErrors: number
  /** Other errors the proxy sockets emitted (counted, never thrown). */
  socketErrors: number
  /** Proxy sockets now open. */
  proxies: number
  /** Copies waiting now. */
  queued: number
}

interface Proxy {
  readonly socket: dgram.Socket
  /** The real endpoint this proxy stands for. */
  readonly endpoint: UDPEndpoint
  readonly key: string
  /** Where the proxy socket listens. */
  readonly addr: UDPEndpoint
  /** Keys of the endpoints this one is linked with. */
  readonly peers: Set<string>
  /** Target mode: unknown senders to this proxy are linked with its endpoint on the fly. */
  readonly acceptAny: boolean
}

interface Waiting {
  readonly buf: Uint8Array
  readonly out: Proxy
  readonly to: UDPEndpoint
  cancel: () => void
}

interface Held extends Waiting {
  readonly route: string
  countdown: number
}

/** Most datagrams buffered per new sender while its proxy is being bound (target mode). */
const MAX_PENDING_PER_SENDER = 64

/** A seeded UDP impairment relay over real sockets. Create with `UDPRelay.start`. */
export class UDPRelay {
  readonly #host: string
  readonly #family: 4 | 6
  readonly #rand: SeededRandom
  readonly #clock: Clock
  readonly #maxQueued: number
  readonly #maxProxies: number
  #imp: Required<UDPImpairments>
  readonly #byKey = new Map<string, Proxy>()
  readonly #creating = new Map<string, Promise<Proxy>>()
  readonly #pendingSenders = new Map<string, Uint8Array[]>()
  readonly #waiting = new Set<Waiting>()
  readonly #held = new Map<string, Held[]>()
  #targetProxy: Proxy | undefined
  #burstLeft = 0
  #closed = false
  #closing: Promise<void> | undefined
  readonly #stats = {
    received: 0,
    unknownSource: 0,
    scheduled: 0,
    dropped: 0,
    duplicated: 0,
    reordered: 0,
    delayed: 0,
    droppedQueueFull: 0,
    droppedClosed: 0,
    forwarded: 0,
    sendErrors: 0,
    socketErrors: 0,
  }

  /**
   * Starts a relay. With `target`, binds the target's proxy at once (`targetAddr`).
   * Throws `RangeError`/`TypeError` for bad options.
   */
  static async start(opts: UDPRelayOptions = {}): Promise<UDPRelay> {
    const relay = new UDPRelay(opts)
    if (opts.target !== undefined) {
      try {
        relay.#targetProxy = await relay.#proxyFor(relay.#endpoint(opts.target, 'target'), true)
      } catch (err) {
        await relay.close()
        throw err
      }
    }
    return relay
  }

  private constructor(opts: UDPRelayOptions) {
    const host = opts.host ?? '127.0.0.1'
    const family = isIP(host)
    if (family === 0) throw new TypeError(`host must be an IP address, got ${JSON.stringify(host)}`)
    this.#host = host
    this.#family = family as 4 | 6
    const seed = opts.seed ?? 1
    if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`)
    this.#rand = new SeededRandom(seed)
    this.#clock = opts.clock ?? systemClock
    this.#maxQueued = count(opts.maxQueued ?? 4096, 'maxQueued', 0)
    this.#maxProxies = count(opts.maxProxies ?? 256, 'maxProxies', 1)
    this.#imp = checkImpairments(opts, DEFAULTS)
  }

  /**
   * The address senders use to reach the target (target mode only; throws otherwise). Any
   * endpoint that sends here gets a proxy of its own and is linked with the target.
   */
  get targetAddr(): UDPEndpoint {
    if (this.#targetProxy === undefined) throw new TypeError('relay was started without a target')
    return { ...this.#targetProxy.addr }
  }

  /**
   * Links endpoints `a` and `b` (both of the relay's family), binding a proxy for each that
   * has none. Resolves with the proxy addresses (see `UDPLink`). Linking twice is harmless.
   * Rejects when closed, when `maxProxies` would be exceeded, or when a bind fails.
   */
  async link(a: UDPEndpoint, b: UDPEndpoint): Promise<UDPLink> {
    const ea = this.#endpoint(a, 'a')
    const eb = this.#endpoint(b, 'b')
    if (ea.key === eb.key) throw new RangeError('cannot link an endpoint with itself')
    const [pa, pb] = await Promise.all([this.#proxyFor(ea, false), this.#proxyFor(eb, false)])
    pa.peers.add(pb.key)
    pb.peers.add(pa.key)
    return { proxyA: { ...pa.addr }, proxyB: { ...pb.addr } }
  }

  /** The proxy address standing for `endpoint`, if it has one. */
  proxyOf(endpoint: UDPEndpoint): UDPEndpoint | undefined {
    const p = this.#byKey.get(this.#endpoint(endpoint, 'endpoint').key)
    return p === undefined ? undefined : { ...p.addr }
  }

  /**
   * Changes impairments from now on (unspecified fields keep their value). The schedule's
   * random sequence continues; a burst in progress completes.
   */
  configure(imp: UDPImpairments): void {
    this.#imp = checkImpairments(imp, this.#imp)
  }

  /** A snapshot of the counters. */
  stats(): UDPRelayStats {
    return { ...this.#stats, proxies: this.#byKey.size, queued: this.#waiting.size }
  }

  /** Stops forwarding, cancels every timer and closes every socket. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true
      for (const w of this.#waiting) {
        w.cancel()
        this.#stats.droppedClosed++
      }
      this.#waiting.clear()
      this.#held.clear()
      this.#pendingSenders.clear()
      // Sockets still being bound join the list once bound (or failed).
      await Promise.allSettled([...this.#creating.values()])
      const sockets = [...this.#byKey.values()].map((p) => p.socket)
      this.#byKey.clear()
      await Promise.all(sockets.map(closeSocket))
    })()
    return this.#closing
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  #endpoint(e: UDPEndpoint, name: string): UDPEndpoint & { key: string } {
    if (typeof e !== 'object' || e === null || typeof e.ip !== 'string') {
      throw new TypeError(`${name} must be { ip, port }`)
    }
    if (!Number.isInteger(e.port) || e.port < 1 || e.port > 65535) {
      throw new RangeError(`${name}.port must be in 1..65535, got ${e.port}`)
    }
    const [bare, zone] = e.ip.split('%', 2) as [string, string | undefined]
    const fam = isIP(bare)
    if (fam !== this.#family) {
      throw new RangeError(
        `${name}.ip ${e.ip} is not an IPv${this.#family} address like the relay's host`,
      )
    }
    // The same text the socket reports for a sender (inet_ntop), so keys match.
    const norm = new SocketAddress({ address: bare, family: fam === 4 ? 'ipv4' : 'ipv6' }).address
    const ip = zone === undefined ? norm : `${norm}%${zone}`
    return { ip, port: e.port, key: `${ip}|${e.port}` }
  }

  #proxyFor(e: UDPEndpoint & { key: string }, acceptAny: boolean): Promise<Proxy> {
    if (this.#closed) return Promise.reject(new Error('relay is closed'))
    const have = this.#byKey.get(e.key)
    if (have !== undefined) return Promise.resolve(have)
    const creating = this.#creating.get(e.key)
    if (creating !== undefined) return creating
    if (this.#byKey.size + this.#creating.size >= this.#maxProxies) {
      return Promise.reject(new RangeError(`relay has its maximum of ${this.#maxProxies} proxies`))
    }
    const p = this.#bindProxy(e, acceptAny).finally(() => this.#creating.delete(e.key))
    this.#creating.set(e.key, p)
    return p
  }

  async #bindProxy(e: UDPEndpoint & { key: string }, acceptAny: boolean): Promise<Proxy> {
    const socket = dgram.createSocket(this.#family === 4 ? 'udp4' : 'udp6')
    // Errors on a bound proxy socket are counted, never thrown.
    socket.on('error', () => {
      this.#stats.socketErrors++
    })
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject)
        socket.bind(0, this.#host, () => {
          socket.off('error', reject)
          resolve()
        })
      })
    } catch (err) {
      await closeSocket(socket)
      throw err
    }
    const port = socket.address().port
    const proxy: Proxy = {
      socket,
      endpoint: { ip: e.ip, port: e.port },
      key: e.key,
      addr: { ip: this.#host, port },
      peers: new Set(),
      acceptAny,
    }
    if (this.#closed) {
      await closeSocket(socket)
      throw new Error('relay is closed')
    }
    this.#byKey.set(e.key, proxy)
    socket.on('message', (buf: Buffer, rinfo: dgram.RemoteInfo) =>
      this.#onPacket(proxy, buf, rinfo),
    )
    return proxy
  }

  #onPacket(at: Proxy, buf: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.#closed) return
    this.#stats.received++
    const srcKey = `${rinfo.address}|${rinfo.port}`
    const from = this.#byKey.get(srcKey)
    if (from !== undefined && at.peers.has(srcKey)) {
      this.#schedule(buf, from, at.endpoint)
      return
    }
    if (at.acceptAny && from === undefined) {
      this.#newSender(at, buf, { ip: rinfo.address, port: rinfo.port })
      return
    }
    this.#stats.unknownSource++
  }

  /** Target mode: links a new sender with the target, holding its first datagrams meanwhile. */
  #newSender(at: Proxy, buf: Uint8Array, src: UDPEndpoint): void {
    const key = `${src.ip}|${src.port}`
    const pending = this.#pendingSenders.get(key)
    if (pending !== undefined) {
      if (pending.length < MAX_PENDING_PER_SENDER) pending.push(buf)
      else this.#stats.droppedQueueFull++
      return
    }
    if (this.#byKey.size + this.#creating.size >= this.#maxProxies) {
      this.#stats.droppedQueueFull++
      return
    }
    const queue = [buf]
    this.#pendingSenders.set(key, queue)
    this.link(src, at.endpoint).then(
      () => {
        this.#pendingSenders.delete(key)
        const from = this.#byKey.get(key)
        if (this.#closed || from === undefined) return
        for (const b of queue) this.#schedule(b, from, at.endpoint)
      },
      () => {
        this.#pendingSenders.delete(key)
        if (!this.#closed) this.#stats.droppedQueueFull += queue.length
      },
    )
  }

  /** Applies the schedule to one datagram that `out` forwards to `to`. */
  #schedule(buf: Uint8Array, out: Proxy, to: UDPEndpoint): void {
    const r = this.#rand
    // A fixed number of draws per datagram keeps decision i a function of (seed, i) alone.
    const uLoss = r.next()
    const uDup = r.next()
    const uReorder = r.next()
    const uJitter1 = r.next()
    const uJitter2 = r.next()
    const imp = this.#imp
    this.#stats.scheduled++
    if (this.#burstLeft > 0) {
      this.#burstLeft--
      this.#stats.dropped++
      return
    }
    if (uLoss < imp.loss) {
      this.#burstLeft = imp.burstLength - 1
      this.#stats.dropped++
      return
    }
    this.#copy(buf, out, to, imp.delayMs + uJitter1 * imp.jitterMs, uReorder < imp.reorder)
    if (uDup < imp.duplicate) {
      this.#stats.duplicated++
      this.#copy(buf, out, to, imp.delayMs + uJitter2 * imp.jitterMs, false)
    }
  }

  #copy(buf: Uint8Array, out: Proxy, to: UDPEndpoint, delay: number, hold: boolean): void {
    if (delay <= 0) {
      if (hold) this.#hold(buf, out, to)
      else this.#emit(buf, out, to)
      return
    }
    if (this.#waiting.size >= this.#maxQueued) {
      this.#stats.droppedQueueFull++
      return
    }
    this.#stats.delayed++
    const w: Waiting = { buf, out, to, cancel: noop }
    this.#waiting.add(w)
    w.cancel = this.#clock.setTimeout(() => {
      this.#waiting.delete(w)
      if (hold) this.#hold(buf, out, to)
      else this.#emit(buf, out, to)
    }, delay)
  }

  #hold(buf: Uint8Array, out: Proxy, to: UDPEndpoint): void {
    if (this.#waiting.size >= this.#maxQueued) {
      this.#stats.droppedQueueFull++
      return
    }
    this.#stats.reordered++
    const route = `${out.key}>${to.ip}|${to.port}`
    const h: Held = { buf, out, to, route, countdown: this.#imp.reorderGap, cancel: noop }
    this.#waiting.add(h)
    let list = this.#held.get(route)
    if (list === undefined) this.#held.set(route, (list = []))
    list.push(h)
    h.cancel = this.#clock.setTimeout(() => this.#release(h), this.#imp.holdMs)
  }

  #release(h: Held): void {
    if (!this.#waiting.delete(h)) return
    h.cancel()
    const list = this.#held.get(h.route)
    if (list !== undefined) {
      const i = list.indexOf(h)
      if (i >= 0) list.splice(i, 1)
      if (list.length === 0) this.#held.delete(h.route)
    }
    this.#send(h.buf, h.out, h.to)
  }

  /** Sends a copy now; held copies on the same route that it overtakes may follow it. */
  #emit(buf: Uint8Array, out: Proxy, to: UDPEndpoint): void {
    this.#send(buf, out, to)
    const list = this.#held.get(`${out.key}>${to.ip}|${to.port}`)
    if (list === undefined) return
    const due: Held[] = []
    for (const h of list) if (--h.countdown <= 0) due.push(h)
    for (const h of due) this.#release(h)
  }

  #send(buf: Uint8Array, out: Proxy, to: UDPEndpoint): void {
    if (this.#closed) return
    this.#stats.forwarded++
    out.socket.send(buf, to.port, to.ip, this.#afterSend)
  }

  readonly #afterSend = (err: Error | null): void => {
    if (err !== null) this.#stats.sendErrors++
  }
}

const DEFAULTS: Required<UDPImpairments> = {
  loss: 0,
  burstLength: 1,
  duplicate: 0,
  reorder: 0,
  reorderGap: 2,
  holdMs: 50,
  delayMs: 0,
  jitterMs: 0,
}

function checkImpairments(
  imp: UDPImpairments,
  base: Required<UDPImpairments>,
): Required<UDPImpairments> {
  const out = { ...base }
  for (const name of ['loss', 'duplicate', 'reorder'] as const) {
    const v = imp[name]
    if (v === undefined) continue
    if (!(v >= 0 && v <= 1)) throw new RangeError(`${name} must be a probability in 0..1, got ${v}`)
    out[name] = v
  }
  for (const name of ['delayMs', 'jitterMs', 'holdMs'] as const) {
    const v = imp[name]
    if (v === undefined) continue
    if (!(v >= 0 && Number.isFinite(v))) throw new RangeError(`${name} must be ≥ 0, got ${v}`)
    out[name] = v
  }
  if (imp.burstLength !== undefined) out.burstLength = count(imp.burstLength, 'burstLength', 1)
  if (imp.reorderGap !== undefined) out.reorderGap = count(imp.reorderGap, 'reorderGap', 1)
  return out
}

function count(v: number, name: string, min: number): number {
  if (!Number.isInteger(v) || v < min)
    throw new RangeError(`${name} must be an integer ≥ ${min}, got ${v}`)
  return v
}

function noop(): void {}
