/**
 * swarmtest over p2pkeswarm: on memswarm (clean, and with loss, duplication and reordering), on
 * real loopback UDP sockets (directly, and through the p2ptest relay with loss), and
 * askswarm → p2pkeswarm → udpswarm as a SecureAskSwarm.
 *
 * A bare p2pkeswarm declares `minPayloadSize: 1`: P2PKE cannot carry an empty tell (on the wire
 * an empty data message is a keepalive, which go-p2p and swarmwire alike never deliver), so
 * `tell` refuses it with a RangeError, which the suite checks. Over askswarm every tell has a
 * header, and empty tells travel.
 */
import { describe, it } from 'vitest'
import { ED25519_OID, type PrivateKey, publicKeyEqual } from '../../f/x509/index.js'
import { type UDPRelay, relayedUDPSwarms, testKey } from '../../p2ptest/index.js'
import { runSwarmTests } from '../../swarmtest/index.js'
import type { PublicKey } from '../../f/x509/index.js'
import { newAskSwarm } from '../askswarm/index.js'
import { Realm, type RealmOptions } from '../memswarm/index.js'
import { UDPSwarm } from '../udpswarm/index.js'
import { type P2PKESwarmOptions, fingerprintPublicKey, newP2PKESwarm } from './index.js'

/** Handshakes add round trips (and retransmissions under loss): the suite gets 60 s per test. */
const SWARMTEST_TIMEOUT_MS = 60_000
const itWithTimeout = (name: string, fn: () => Promise<void>) => it(name, fn, 90_000)
const runner = { describe, it: itWithTimeout }

let nextKey = 1000
const key = (): PrivateKey => ({ algorithm: ED25519_OID, data: testKey(nextKey++).seed })

const secure = {
  fingerprint: (pub: unknown) => fingerprintPublicKey(pub as PublicKey),
  keyEquals: (a: unknown, b: unknown) => publicKeyEqual(a as PublicKey, b as PublicKey),
}

function overMem(realmOpts: RealmOptions, opts: Partial<P2PKESwarmOptions> = {}) {
  return async (n: number) => {
    const realm = new Realm(realmOpts)
    return Array.from({ length: n }, () =>
      newP2PKESwarm(realm.newSwarm(), { privateKey: key(), ...opts }),
    )
  }
}

runSwarmTests(runner, 'p2pkeswarm over memswarm', {
  make: overMem({ mtu: 1500 }),
  secure,
  minPayloadSize: 1,
  timeoutMs: SWARMTEST_TIMEOUT_MS,
})

// The replay window drops duplicated packets, so no tell arrives twice; reordered data within
// the window is accepted; lost handshake messages are retransmitted.
runSwarmTests(runner, 'p2pkeswarm over memswarm, 10% loss, duplication and reordering', {
  make: overMem({ mtu: 1500, loss: 0.1, duplicate: 0.1, reorder: 0.1, seed: 17 }),
  secure,
  minPayloadSize: 1,
  mayDrop: true,
  mayReorder: true,
  timeoutMs: SWARMTEST_TIMEOUT_MS,
})

runSwarmTests(runner, 'p2pkeswarm over udpswarm (IPv4 loopback)', {
  make: (n) =>
    Promise.all(
      Array.from({ length: n }, async () =>
        newP2PKESwarm(await UDPSwarm.bind('127.0.0.1:0'), { privateKey: key() }),
      ),
    ),
  secure,
  minPayloadSize: 1,
  timeoutMs: SWARMTEST_TIMEOUT_MS,
})

const relays: UDPRelay[] = []
const closeRelays = async () => {
  await Promise.all(relays.splice(0).map((r) => r.close()))
}

runSwarmTests(runner, 'p2pkeswarm over udpswarm through a relay with 10% loss and reordering', {
  make: async (n) => {
    const { swarms, relay } = await relayedUDPSwarms(n, {
      seed: 23,
      loss: 0.1,
      reorder: 0.05,
      jitterMs: 1,
    })
    relays.push(relay)
    return swarms.map((s) => newP2PKESwarm(s, { privateKey: key() }))
  },
  cleanup: closeRelays,
  secure,
  minPayloadSize: 1,
  mayDrop: true,
  mayReorder: true,
  timeoutMs: SWARMTEST_TIMEOUT_MS,
})

async function askOverP2PKE(n: number) {
  return Promise.all(
    Array.from({ length: n }, async () =>
      newAskSwarm(newP2PKESwarm(await UDPSwarm.bind('127.0.0.1:0'), { privateKey: key() })),
    ),
  )
}

runSwarmTests(runner, 'askswarm over p2pkeswarm over udpswarm (IPv4 loopback)', {
  make: askOverP2PKE,
  asks: true,
  secure,
  maxAskSize: (s) => s.maxAskSize,
  timeoutMs: SWARMTEST_TIMEOUT_MS,
})
