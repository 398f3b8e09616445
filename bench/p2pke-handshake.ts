/**
 * Complete P2PKE handshakes, both sides in this process: two `Session`s driven by hand
 * (InitHello → RespHello → InitDone → RespDone, both ready), and the Noise NN handshake
 * alone, per crypto backend. Pure state machines: no I/O, no timers, one core.
 */
import { type BackendName, type CryptoBackend, getBackend } from '../crypto/index.js'
import { type PrivateKey, type SigningRegistry, defaultRegistry } from '../f/x509/index.js'
import { NoiseNN, Session } from '../p/p2pke/index.js'

/** The keys and registry one backend's handshakes use, made once (as a node has them). */
export interface HandshakeKit {
  readonly backend: CryptoBackend
  readonly registry: SigningRegistry
  readonly initiatorKey: PrivateKey
  readonly responderKey: PrivateKey
}

/** Long-lived keys for both sides and a registry over `name`'s backend. */
export function handshakeKit(name: BackendName): HandshakeKit {
  const backend = getBackend(name)
  const registry = defaultRegistry(backend)
  return {
    backend,
    registry,
    initiatorKey: registry.generate(),
    responderKey: registry.generate(),
  }
}

let clock = 0

/**
 * One complete P2PKE handshake: both sessions created, four messages delivered, both ready.
 * Throws if a step does not give what the protocol says (a broken benchmark, not a figure).
 */
export function p2pkeHandshake(kit: HandshakeKit): void {
  const now = ++clock
  const common = { now, backend: kit.backend, registry: kit.registry }
  const init = new Session({ ...common, initiator: true, privateKey: kit.initiatorKey })
  const resp = new Session({ ...common, initiator: false, privateKey: kit.responderKey })
  const respHello = reply(resp.deliver(init.handshakeMessage()!, now))
  const initDone = reply(init.deliver(respHello, now))
  const respDone = reply(resp.deliver(initDone, now))
  init.deliver(respDone, now)
  if (!init.ready || !resp.ready) throw new Error('p2pke handshake did not complete')
}

function reply(out: ReturnType<Session['deliver']>): Uint8Array {
  if (out.type !== 'handshake' || out.reply === undefined) {
    throw new Error(`p2pke handshake step failed: ${JSON.stringify(out)}`)
  }
  return out.reply
}

/** One Noise NN handshake alone (`-> e`, `<- e, ee`, both split), empty payloads. */
export function noiseHandshake(kit: HandshakeKit): void {
  const i = new NoiseNN({ initiator: true, backend: kit.backend })
  const r = new NoiseNN({ initiator: false, backend: kit.backend })
  if (r.readMessage1(i.writeMessage1()) === undefined) throw new Error('noise message 1 failed')
  if (i.readMessage2(r.writeMessage2()) === undefined) throw new Error('noise message 2 failed')
  i.split()
  r.split()
}
