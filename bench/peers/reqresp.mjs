// Request/response round trips per second and latency p50/p99 with a small echo, on loopback,
// both ends in this process.
//
//   node reqresp.mjs [--seconds 2] [--inflight 1,16,64] [--size 64]
//                    [--stack libp2p-tcp,libp2p-quic,secret-stream]
//                    [--form per-request,pipelined,streams]
//
// Stacks:
//   libp2p-tcp    js-libp2p 2.x, @libp2p/tcp + @chainsafe/libp2p-noise + @chainsafe/libp2p-yamux
//   libp2p-quic   js-libp2p 2.x, @chainsafe/libp2p-quic 1.x (TLS 1.3 + QUIC streams, Rust quinn)
//   secret-stream @hyperswarm/secret-stream over net TCP sockets (Nagle off)
// The libp2p nodes have no services (no identify, no ping); the client dials the server once
// before timing, so every form runs over one established connection.
//
// Forms (`in flight` = requests outstanding at any time):
//   per-request  libp2p only, the idiomatic form: each request opens a new stream with
//                dialProtocol(serverPeerId, protocol) (multistream-select negotiation, stream
//                open), writes one length-prefixed request, reads one length-prefixed response,
//                then close(); the handler (node.handle) reads one, writes it back, close().
//                N in flight = N concurrent loops, each doing this sequentially.
//   pipelined    one long-lived stream (libp2p: one protocol stream; secret-stream: one
//                connection), frames pipelined on it: the client keeps N frames outstanding,
//                the server echoes each frame in order, responses match requests FIFO (so no id
//                is needed). libp2p frames are varint length-prefixed (it-length-prefixed) and
//                the handler decodes and re-encodes each frame; secret-stream keeps message
//                boundaries itself (one write = one encrypted message = one 'data' event).
//   streams      N long-lived streams (libp2p: N protocol streams on the one connection;
//                secret-stream: N TCP connections), each doing sequential round trips.
// Latency is from the request being handed to the library to its response being delivered.
import './node20.mjs'
import net from 'node:net'
import { noise } from '@chainsafe/libp2p-noise'
import { quic } from '@chainsafe/libp2p-quic'
import { yamux } from '@chainsafe/libp2p-yamux'
import SecretStream from '@hyperswarm/secret-stream'
import { tcp } from '@libp2p/tcp'
import * as lp from 'it-length-prefixed'
import { lpStream } from 'it-length-prefixed-stream'
import { pipe } from 'it-pipe'
import { pushable } from 'it-pushable'
import { createLibp2p } from 'libp2p'
import {
  intList,
  log,
  machine,
  nameList,
  options,
  percentile,
  round,
  run,
  timedLoops,
} from './lib.mjs'

const STACKS = ['libp2p-tcp', 'libp2p-quic', 'secret-stream']
const FORMS = ['per-request', 'pipelined', 'streams']
const PROTO_ONE = '/bench/echo-one/1.0.0'
const PROTO_LONG = '/bench/echo-long/1.0.0'
const LIMITS = { maxInboundStreams: 4096, maxOutboundStreams: 4096 }

/**
 * Drives a pipelined FIFO echo: `send(frame)` hands one request to the library; the caller
 * calls the returned `onResponse()` once per response, in order, and `fail(err)` if the stream
 * breaks. Keeps `inflight` outstanding for the warm-up plus `seconds`, then waits for the
 * outstanding ones.
 */
function pipelineDriver(send, payload, inflight, seconds) {
  const warmMs = Math.min(300, seconds * 200)
  const start = performance.now() + warmMs
  const end = start + seconds * 1000
  const sentAt = []
  let head = 0
  let outstanding = 0
  let ops = 0
  const lat = []
  let finish
  let fail
  const done = new Promise((resolve, reject) => {
    finish = resolve
    fail = reject
  })
  const sendOne = () => {
    sentAt.push(performance.now())
    outstanding++
    send(payload)
  }
  const onResponse = () => {
    const now = performance.now()
    const a = sentAt[head++]
    if (head > 4096) {
      sentAt.splice(0, head)
      head = 0
    }
    outstanding--
    if (now >= start && now <= end) ops++
    if (a >= start && now <= end) lat.push(now - a)
    if (now < end) sendOne()
    else if (outstanding === 0) {
      lat.sort((x, y) => x - y)
      finish({ opsPerSec: ops / seconds, latencies: lat })
    }
  }
  return {
    onResponse,
    fail,
    finished: () => outstanding === 0 && performance.now() >= end,
    run: () => {
      for (let i = 0; i < inflight; i++) sendOne()
      return done
    },
  }
}

async function libp2pPair(stack) {
  const transports = stack === 'libp2p-quic' ? [quic()] : [tcp()]
  const listen = stack === 'libp2p-quic' ? '/ip4/127.0.0.1/udp/0/quic-v1' : '/ip4/127.0.0.1/tcp/0'
  const extra =
    stack === 'libp2p-quic' ? {} : { connectionEncrypters: [noise()], streamMuxers: [yamux()] }
  const server = await createLibp2p({ addresses: { listen: [listen] }, transports, ...extra })
  const client = await createLibp2p({ addresses: { listen: [] }, transports, ...extra })
  await server.handle(
    PROTO_ONE,
    async ({ stream }) => {
      try {
        const s = lpStream(stream)
        await s.write(await s.read())
        await stream.close()
      } catch (err) {
        stream.abort(err)
      }
    },
    LIMITS,
  )
  await server.handle(
    PROTO_LONG,
    ({ stream }) => {
      pipe(stream, (src) => lp.encode(lp.decode(src)), stream).catch((err) => stream.abort(err))
    },
    LIMITS,
  )
  const conn = await client.dial(server.getMultiaddrs()[0])
  log(`${stack}: connected ${conn.remoteAddr.toString()} (${conn.encryption}, ${conn.multiplexer})`)
  return { server, client, peer: server.peerId }
}

/** One round trip over a fresh stream per request. */
function perRequestOp(pair, payload) {
  return async () => {
    const stream = await pair.client.dialProtocol(pair.peer, PROTO_ONE, LIMITS)
    const s = lpStream(stream)
    await s.write(payload)
    const res = await s.read()
    if (res.byteLength !== payload.byteLength) throw new Error('short echo')
    await stream.close()
  }
}

/** N long-lived streams, each doing sequential round trips. */
async function libp2pStreamsOp(pair, payload, n) {
  const streams = []
  for (let i = 0; i < n; i++) {
    const stream = await pair.client.dialProtocol(pair.peer, PROTO_LONG, LIMITS)
    streams.push({ stream, s: lpStream(stream) })
  }
  const op = async (i) => {
    const { s } = streams[i]
    await s.write(payload)
    const res = await s.read()
    if (res.byteLength !== payload.byteLength) throw new Error('short echo')
  }
  op.close = () => Promise.all(streams.map(({ stream }) => stream.close()))
  return op
}

/** One long-lived stream, `inflight` frames pipelined. */
async function libp2pPipelined(pair, payload, inflight, seconds) {
  const stream = await pair.client.dialProtocol(pair.peer, PROTO_LONG, LIMITS)
  const out = pushable({ objectMode: true })
  const sinkDone = stream.sink(out)
  const driver = pipelineDriver((p) => out.push(lp.encode.single(p)), payload, inflight, seconds)
  const reading = (async () => {
    for await (const frame of lp.decode(stream.source)) {
      if (frame.byteLength !== payload.byteLength) throw new Error('short echo')
      driver.onResponse()
    }
    if (!driver.finished()) throw new Error('echo stream ended early')
  })()
  reading.catch((err) => driver.fail(err))
  const r = await driver.run()
  out.end()
  await sinkDone
  await reading
  return r
}

async function secretStreamServer() {
  const kp = SecretStream.keyPair()
  const sockets = new Set()
  const server = net.createServer({ noDelay: true }, (sock) => {
    sockets.add(sock)
    sock.on('close', () => sockets.delete(sock))
    const s = new SecretStream(false, sock, { keyPair: kp })
    s.on('data', (d) => s.write(d))
    s.on('end', () => s.end())
    s.on('error', () => {})
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: server.address().port,
    close: () => {
      for (const s of sockets) s.destroy()
      return new Promise((resolve) => server.close(resolve))
    },
  }
}

async function secretStreamConnect(port, kp) {
  const sock = net.connect({ port, host: '127.0.0.1', noDelay: true })
  const s = new SecretStream(true, sock, { keyPair: kp })
  s.on('error', (err) => log('secret-stream client error', err.message))
  if (!(await s.opened)) throw new Error('secret-stream handshake failed')
  return s
}

async function secretStreamPipelined(port, payload, inflight, seconds) {
  const s = await secretStreamConnect(port, SecretStream.keyPair())
  const driver = pipelineDriver((p) => s.write(p), payload, inflight, seconds)
  s.on('data', (d) => {
    if (d.byteLength !== payload.byteLength) driver.fail(new Error('short echo'))
    else driver.onResponse()
  })
  s.on('close', () => {
    if (!driver.finished()) driver.fail(new Error('secret-stream closed early'))
  })
  const r = await driver.run()
  s.destroy()
  return r
}

async function secretStreamStreamsOp(port, payload, n) {
  const kp = SecretStream.keyPair()
  const conns = []
  for (let i = 0; i < n; i++) {
    const s = await secretStreamConnect(port, kp)
    const c = { s, waiting: null }
    s.on('data', (d) => {
      const w = c.waiting
      c.waiting = null
      w(d)
    })
    conns.push(c)
  }
  const op = async (i) => {
    const c = conns[i]
    const res = await new Promise((resolve) => {
      c.waiting = resolve
      c.s.write(payload)
    })
    if (res.byteLength !== payload.byteLength) throw new Error('short echo')
  }
  op.close = async () => {
    for (const c of conns) c.s.destroy()
  }
  return op
}

function row(stack, form, inflight, size, r) {
  const x = {
    stack,
    form,
    inflight,
    size,
    roundTripsPerSec: round(r.opsPerSec),
    p50Ms: round(percentile(r.latencies, 50), 3),
    p99Ms: round(percentile(r.latencies, 99), 3),
  }
  log(JSON.stringify(x))
  return x
}

run(async () => {
  const o = options({
    seconds: '2',
    inflight: '1,16,64',
    size: '64',
    stack: STACKS.join(','),
    form: FORMS.join(','),
  })
  const seconds = Number(o.seconds)
  if (!(seconds > 0)) throw new Error('--seconds must be positive')
  const size = Number(o.size)
  if (!Number.isInteger(size) || size < 1 || size > 60000) throw new Error('--size 1..60000')
  const inflights = intList(o.inflight)
  const forms = nameList(o.form, FORMS)
  const payload = new Uint8Array(size).fill(0x5a)
  const results = []
  for (const stack of nameList(o.stack, STACKS)) {
    if (stack === 'secret-stream') {
      const srv = await secretStreamServer()
      for (const form of forms) {
        if (form === 'per-request') continue
        for (const n of inflights) {
          if (form === 'pipelined') {
            results.push(
              row(stack, form, n, size, await secretStreamPipelined(srv.port, payload, n, seconds)),
            )
          } else {
            const op = await secretStreamStreamsOp(srv.port, payload, n)
            results.push(row(stack, form, n, size, await timedLoops(n, seconds, op)))
            await op.close()
          }
        }
      }
      await srv.close()
      continue
    }
    const pair = await libp2pPair(stack)
    for (const form of forms) {
      for (const n of inflights) {
        if (form === 'per-request') {
          results.push(
            row(stack, form, n, size, await timedLoops(n, seconds, perRequestOp(pair, payload))),
          )
        } else if (form === 'pipelined') {
          results.push(row(stack, form, n, size, await libp2pPipelined(pair, payload, n, seconds)))
        } else {
          const op = await libp2pStreamsOp(pair, payload, n)
          results.push(row(stack, form, n, size, await timedLoops(n, seconds, op)))
          await op.close()
        }
      }
    }
    await Promise.all([pair.client.stop(), pair.server.stop()])
  }
  return { bench: 'reqresp', machine: machine(), seconds, size, results }
})
