/**
 * The stacks users want, in one call: authenticated, encrypted datagrams with reliable asks.
 *
 *   udp → p2pke → ask          secureUDPStack('0.0.0.0:6000', { privateKey })
 *   mem → p2pke → ask          secureMemStack(realm, { privateKey })
 *   … → string mux on top      secureUDPMuxStack(...), secureMemMuxStack(...)
 *
 * Each layer is an ordinary swarm (see its folder); these functions only wire them together
 * with the options given for each layer. Closing the returned swarm (or mux) closes the stack
 * down to the socket.
 */
import type { Addr, SecureAskSwarm, Swarm } from '../core/index.js'
import { type PrivateKey, type PublicKey, defaultRegistry } from '../f/x509/index.js'
import { type Mux, newStringMux } from '../p/p2pmux/index.js'
import type { MuxOptions } from '../p/p2pmux/index.js'
import { type AskSwarmOptions, newAskSwarm } from '../s/askswarm/index.js'
import type { MemAddr, Realm } from '../s/memswarm/index.js'
import { type P2PKEAddr, type P2PKESwarmOptions, newP2PKESwarm } from '../s/p2pkeswarm/index.js'
import { type UDPAddr, UDPSwarm, type UDPSwarmOptions } from '../s/udpswarm/index.js'

/** A secure asking swarm: addresses `<PeerID>@<inner>`, keys from f/x509. */
export type SecureStack<A extends Addr> = SecureAskSwarm<P2PKEAddr<A>, PublicKey>

/** Options for every layer of a stack. */
export interface StackOptions {
  /** This node's long-lived key (default: a fresh Ed25519 key; see `generateKey`). */
  privateKey?: PrivateKey
  /** Options of the UDP socket (UDP stacks only). */
  udp?: UDPSwarmOptions
  /** Options of the P2PKE layer (all but the key). */
  p2pke?: Omit<P2PKESwarmOptions, 'privateKey'>
  /** Options of the ask layer. */
  ask?: AskSwarmOptions
  /** Options of the mux (mux stacks only). */
  mux?: MuxOptions
}

/** A fresh Ed25519 private key. Keep it to keep the node's PeerID across restarts. */
export function generateKey(): PrivateKey {
  return defaultRegistry().generate()
}

/** udp → p2pke → ask, bound to `bind` (`ip:port`, port 0 for an ephemeral one). */
export async function secureUDPStack(
  bind: string,
  opts: StackOptions = {},
): Promise<SecureStack<UDPAddr>> {
  const udp = await UDPSwarm.bind(bind, opts.udp)
  return secureOver(udp, opts)
}

/** mem → p2pke → ask, a new node of `realm` (for tests and simulations). */
export function secureMemStack(realm: Realm, opts: StackOptions = {}): SecureStack<MemAddr> {
  return secureOver(realm.newSwarm(), opts)
}

/** udp → p2pke → ask → string mux: open named channels, each a SecureAskSwarm. */
export async function secureUDPMuxStack(
  bind: string,
  opts: StackOptions = {},
): Promise<Mux<SecureStack<UDPAddr>, string>> {
  return newStringMux(await secureUDPStack(bind, opts), opts.mux)
}

/** mem → p2pke → ask → string mux. */
export function secureMemMuxStack(
  realm: Realm,
  opts: StackOptions = {},
): Mux<SecureStack<MemAddr>, string> {
  return newStringMux(secureMemStack(realm, opts), opts.mux)
}

function secureOver<A extends Addr>(
  inner: Swarm<A>,
  opts: StackOptions,
): SecureAskSwarm<P2PKEAddr<A>, PublicKey> {
  const privateKey = opts.privateKey ?? generateKey()
  return newAskSwarm(newP2PKESwarm(inner, { ...opts.p2pke, privateKey }), opts.ask)
}
