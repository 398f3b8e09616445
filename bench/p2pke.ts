/**
 * P2PKE: complete handshakes per second and sealed 1200 B messages per second, per crypto
 * backend, beside peer libraries and raw baselines measured in the same run.
 *
 * Handshakes (variant "complete handshakes, sequential"): two `Session`s driven by hand, both
 * in this process (InitHello → RespHello → InitDone → RespDone, both ready), one after the
 * other; the Noise NN handshake alone for reference; @hyperswarm/secret-stream (Noise XX on
 * libsodium) and @chainsafe/libp2p-noise from `bench/peers/handshakes.mjs`, also both ends in
 * one process, in memory, one at a time.
 *
 * Sealed messages (variant "1200 B"): the backend's raw ChaCha20-Poly1305 (`seal`, and `seal`
 * then `open`); p2pkeswarm over memswarm (windowed tells, 64 in flight); p2pkeswarm over
 * udpswarm beside raw udpswarm on 127.0.0.1 (acknowledged window of 256, as bench/udp.ts).
 *
 * Every group takes turns in `ROUNDS` rounds and reports median rates; "CPU" is this process's
 * CPU time (user + system, every thread) per operation over all rounds. The peer scripts run in
 * a child process between our rounds: CPU figures are ours only.
 */
import { availableBackends, getBackend } from '../crypto/index.js'
import type { Result } from './lib.js'
import { aeadOp, type FlowKind, measureFlow } from './p2pke-flow.js'
import { handshakeKit, noiseHandshake, p2pkeHandshake } from './p2pke-handshake.js'
import {
  type Runner,
  type Summary,
  cpuNote,
  interleave,
  load,
  ms,
  spreadNote,
  timeSync,
} from './p2pke-lib.js'
import { type PeerHandshakesResult, runPeerBench } from './peers.js'

const HANDSHAKES = 'complete handshakes, sequential'
const SECRET_STREAM = 'secret-stream (Noise XX, libsodium)'
const LIBP2P_NOISE = 'libp2p-noise (Noise XX + Ed25519 sigs)'
const SIZE = 1200
const SEALED = `${SIZE} B`
const UDPSWARM = 'udpswarm tell (no crypto)'
/** AEAD operations per timed call (a call per operation would time the clock). */
const AEAD_BATCH = 200

/** Runs the P2PKE benchmarks. */
export async function benchP2pke(seconds: number): Promise<Result[]> {
  const before = load()
  const out = [...(await handshakes(seconds)), ...(await sealed(seconds))]
  console.log(`p2pke: 1-minute load average ${before} before, ${load()} after`)
  return out
}

async function handshakes(seconds: number): Promise<Result[]> {
  const backends = availableBackends()
  const runners: Runner[] = []
  for (const name of backends) {
    const kit = handshakeKit(name)
    runners.push(async (s) => ({
      [`P2PKE handshake, ${name}`]: timeSync(() => p2pkeHandshake(kit), s),
    }))
    runners.push(async (s) => ({
      [`Noise NN alone, ${name}`]: timeSync(() => noiseHandshake(kit), s),
    }))
  }
  runners.push(async (s) => {
    const r = (await runPeerBench('handshakes.mjs', [
      '--seconds',
      String(s),
      '--parallel',
      '1',
      '--transport',
      'mem',
    ])) as PeerHandshakesResult | undefined
    const got: Record<string, ReturnType<typeof timeSync>> = {}
    for (const row of r?.results ?? []) {
      const name = row.impl === 'secret-stream' ? SECRET_STREAM : LIBP2P_NOISE
      got[name] = {
        opsPerSec: row.handshakesPerSec,
        ops: 0,
        cpuMicros: 0,
        ...(row.p50Ms === null ? {} : { p50Ms: row.p50Ms }),
        ...(row.p99Ms === null ? {} : { p99Ms: row.p99Ms }),
      }
    }
    return got
  })
  const got = await interleave(runners, seconds)
  const out: Result[] = []
  const latency = (s: Summary) => `p50 ${ms(s.p50Ms)} ms, p99 ${ms(s.p99Ms)} ms`
  const secret = got.get(SECRET_STREAM)
  for (const name of [SECRET_STREAM, LIBP2P_NOISE]) {
    const s = got.get(name)
    if (s === undefined) continue
    out.push({
      name,
      variant: HANDSHAKES,
      opsPerSec: s.opsPerSec,
      ...(name === SECRET_STREAM ? {} : { baseline: SECRET_STREAM }),
      note: `${latency(s)}; ${spreadNote(s)}; child process, in-memory pipes`,
    })
  }
  for (const backend of backends) {
    const p2pke = got.get(`P2PKE handshake, ${backend}`)!
    const noise = got.get(`Noise NN alone, ${backend}`)!
    out.push({
      name: `P2PKE handshake, ${backend}`,
      variant: HANDSHAKES,
      opsPerSec: p2pke.opsPerSec,
      ...(secret === undefined ? {} : { baseline: SECRET_STREAM }),
      note: [cpuNote(p2pke, 'handshake'), latency(p2pke), spreadNote(p2pke)]
        .filter((x) => x !== undefined)
        .join('; '),
    })
    const share =
      noise.cpuPerOp !== undefined && p2pke.cpuPerOp !== undefined
        ? `${((100 * noise.cpuPerOp) / p2pke.cpuPerOp).toFixed(0)}% of the P2PKE handshake's CPU`
        : undefined
    out.push({
      name: `Noise NN alone, ${backend}`,
      variant: HANDSHAKES,
      opsPerSec: noise.opsPerSec,
      ...(secret === undefined ? {} : { baseline: SECRET_STREAM }),
      note: [cpuNote(noise, 'handshake'), share, spreadNote(noise)]
        .filter((x) => x !== undefined)
        .join('; '),
    })
  }
  return out
}

async function sealed(seconds: number): Promise<Result[]> {
  const backends = availableBackends()
  const runners: Runner[] = []
  const flow = (name: string, kind: FlowKind, backend?: (typeof backends)[number]) =>
    runners.push(async (s) => ({
      [name]: await measureFlow(
        kind,
        backend === undefined ? undefined : getBackend(backend),
        SIZE,
        s,
      ),
    }))
  for (const b of backends) {
    const backend = getBackend(b)
    const seal = aeadOp(backend, SIZE, false)
    const sealOpen = aeadOp(backend, SIZE, true)
    const batch = (op: () => void) => () => {
      for (let i = 0; i < AEAD_BATCH; i++) op()
    }
    runners.push(async (s) => ({ [`AEAD seal, ${b}`]: timeSync(batch(seal), s, AEAD_BATCH) }))
    runners.push(async (s) => ({
      [`AEAD seal + open, ${b}`]: timeSync(batch(sealOpen), s, AEAD_BATCH),
    }))
    flow(`p2pkeswarm over memswarm, ${b}`, 'p2pke-mem', b)
  }
  flow(UDPSWARM, 'udpswarm')
  for (const b of backends) flow(`p2pkeswarm over udpswarm, ${b}`, 'p2pke-udp', b)
  const got = await interleave(runners, seconds)

  const out: Result[] = []
  const row = (name: string, baseline: string | undefined, extra: string[] = []): void => {
    const s = got.get(name)!
    const loss =
      s.sent === 0
        ? undefined
        : s.lost <= 0
          ? 'no loss'
          : `lost ${s.lost} of ${s.sent} (${((100 * s.lost) / s.sent).toFixed(3)}%)`
    out.push({
      name,
      variant: SEALED,
      opsPerSec: s.opsPerSec,
      bytesPerSec: s.opsPerSec * SIZE,
      ...(baseline === undefined ? {} : { baseline }),
      note: [cpuNote(s, 'msg'), ...extra, loss, spreadNote(s)]
        .filter((x) => x !== undefined)
        .join('; '),
    })
  }
  const cpu = (name: string) => got.get(name)?.cpuPerOp
  const beyond = (name: string, base: string): string[] => {
    const a = cpu(name)
    const b = cpu(base)
    return a === undefined || b === undefined ? [] : [`${(a - b).toFixed(1)} µs/msg beyond ${base}`]
  }
  for (const b of backends) {
    row(`AEAD seal, ${b}`, undefined, [`ChaCha20-Poly1305 by ${getBackend(b).providers.aead}`])
    row(`AEAD seal + open, ${b}`, `AEAD seal, ${b}`)
    row(
      `p2pkeswarm over memswarm, ${b}`,
      `AEAD seal + open, ${b}`,
      beyond(`p2pkeswarm over memswarm, ${b}`, `AEAD seal + open, ${b}`),
    )
  }
  row(UDPSWARM, undefined)
  for (const b of backends) {
    row(
      `p2pkeswarm over udpswarm, ${b}`,
      UDPSWARM,
      beyond(`p2pkeswarm over udpswarm, ${b}`, UDPSWARM),
    )
  }
  return out
}
