// Complete handshakes per second for two Noise XX implementations, both ends in this process.
//
//   node handshakes.mjs [--seconds 2] [--parallel 1,8] [--impl secret-stream,libp2p-noise]
//                       [--transport mem|tcp]
//
// secret-stream: @hyperswarm/secret-stream (Noise XX over Ed25519-derived DH, libsodium via
//   sodium-native), a fresh initiator/responder pair per handshake, each side with a long-lived
//   static key pair; done when both sides' `opened` resolved (the XX messages plus the
//   secretstream header each side sends), then both destroyed.
// libp2p-noise: @chainsafe/libp2p-noise's ConnectionEncrypter alone: secureOutbound and
//   secureInbound (Noise XX over X25519, ChaChaPoly, SHA-256, plus the libp2p handshake payload:
//   an Ed25519 identity key and its signature over the static key, verified by the other side)
//   over a fresh it-pair duplex pair; one Noise instance per side, as a node has; stream-muxer
//   negotiation skipped. Done when both sides returned, then both secured sinks are ended.
// --transport mem (default): in-memory pipes. tcp: a fresh loopback TCP connection per handshake
//   (the connect is inside the timed operation), for secret-stream only.
// --parallel N: N handshakes under way at any time (N sequential loops); 1 = strictly sequential.
import './node20.mjs'
import net from 'node:net'
import { noise } from '@chainsafe/libp2p-noise'
import SecretStream from '@hyperswarm/secret-stream'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { duplexPair } from 'it-pair/duplex'
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

const IMPLS = ['secret-stream', 'libp2p-noise']

async function secretStreamMem() {
  const kpA = SecretStream.keyPair()
  const kpB = SecretStream.keyPair()
  return async () => {
    const a = new SecretStream(true, null, { keyPair: kpA })
    const b = new SecretStream(false, null, { keyPair: kpB })
    a.rawStream.pipe(b.rawStream).pipe(a.rawStream)
    const [okA, okB] = await Promise.all([a.opened, b.opened])
    if (!okA || !okB) throw new Error('secret-stream handshake failed')
    a.destroy()
    b.destroy()
  }
}

async function secretStreamTcp() {
  const kpA = SecretStream.keyPair()
  const kpB = SecretStream.keyPair()
  // Responders keyed by the client's port, so parallel loops each get their own peer.
  const waiting = new Map()
  const arrived = new Map()
  const server = net.createServer({ noDelay: true }, (sock) => {
    const b = new SecretStream(false, sock, { keyPair: kpB })
    b.on('error', () => {})
    const w = waiting.get(sock.remotePort)
    if (w) {
      waiting.delete(sock.remotePort)
      w(b)
    } else arrived.set(sock.remotePort, b)
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  const responder = (clientPort) => {
    const b = arrived.get(clientPort)
    if (b) {
      arrived.delete(clientPort)
      return b
    }
    return new Promise((resolve) => waiting.set(clientPort, resolve))
  }
  const op = async () => {
    const sock = net.connect({ port, host: '127.0.0.1', noDelay: true })
    const a = new SecretStream(true, sock, { keyPair: kpA })
    a.on('error', () => {})
    await new Promise((resolve, reject) => {
      sock.once('connect', resolve)
      sock.once('error', reject)
    })
    const b = await responder(sock.localPort)
    const [okA, okB] = await Promise.all([a.opened, b.opened])
    if (!okA || !okB) throw new Error('secret-stream handshake failed')
    a.destroy()
    b.destroy()
  }
  op.close = () => new Promise((resolve) => server.close(resolve))
  return op
}

async function libp2pNoise() {
  const side = async () => {
    const privateKey = await generateKeyPair('Ed25519')
    const peerId = peerIdFromPrivateKey(privateKey)
    const encrypter = noise()({ peerId, privateKey, logger: defaultLogger(), upgrader: undefined })
    return { peerId, encrypter }
  }
  const A = await side()
  const B = await side()
  const opts = { skipStreamMuxerNegotiation: true }
  return async () => {
    const [ca, cb] = duplexPair()
    const [ra, rb] = await Promise.all([
      A.encrypter.secureOutbound(ca, { ...opts, remotePeer: B.peerId }),
      B.encrypter.secureInbound(cb, opts),
    ])
    if (!rb.remotePeer.equals(A.peerId) || !ra.remotePeer.equals(B.peerId))
      throw new Error('libp2p-noise: wrong remote peer')
    // End both secured directions so the pipes behind them finish.
    await Promise.all([ra.conn.sink([]), rb.conn.sink([])])
  }
}

run(async () => {
  const o = options({
    seconds: '2',
    parallel: '1',
    impl: IMPLS.join(','),
    transport: 'mem',
  })
  const seconds = Number(o.seconds)
  if (!(seconds > 0)) throw new Error('--seconds must be positive')
  if (o.transport !== 'mem' && o.transport !== 'tcp') throw new Error('--transport mem|tcp')
  const results = []
  for (const impl of nameList(o.impl, IMPLS)) {
    let transport = o.transport
    if (impl === 'libp2p-noise') transport = 'mem'
    const op =
      impl === 'libp2p-noise'
        ? await libp2pNoise()
        : transport === 'tcp'
          ? await secretStreamTcp()
          : await secretStreamMem()
    for (const parallel of intList(o.parallel)) {
      const r = await timedLoops(parallel, seconds, op)
      const row = {
        impl,
        transport,
        parallel,
        handshakesPerSec: round(r.opsPerSec),
        p50Ms: round(percentile(r.latencies, 50), 3),
        p99Ms: round(percentile(r.latencies, 99), 3),
      }
      log(JSON.stringify(row))
      results.push(row)
    }
    await op.close?.()
  }
  return { bench: 'handshakes', machine: machine(), seconds, results }
})
