/**
 * Peer-library baselines: runs the scripts of bench/peers (js-libp2p, @hyperswarm/secret-stream)
 * in a child process and returns the JSON line each prints. bench/peers is a separate npm package
 * so these libraries stay out of swarmwire's own dependencies; it is installed with
 * `npm ci --prefix bench/peers`, and without it the baselines are skipped. The shapes of the
 * results are documented in bench/peers/README.md and typed below.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/** One row of `handshakes.mjs`. */
export interface PeerHandshakeRow {
  /** `secret-stream` (@hyperswarm/secret-stream) or `libp2p-noise` (@chainsafe/libp2p-noise). */
  impl: string
  /** `mem` (in-memory pipes) or `tcp` (a fresh loopback TCP connection per handshake). */
  transport: string
  /** Handshakes under way at any time. */
  parallel: number
  /** Completed handshakes per second. */
  handshakesPerSec: number
  /** Median time of one handshake, milliseconds (null when none completed). */
  p50Ms: number | null
  /** 99th percentile time of one handshake, milliseconds. */
  p99Ms: number | null
}

/** The JSON line of `handshakes.mjs`. */
export interface PeerHandshakesResult {
  bench: 'handshakes'
  machine: string
  seconds: number
  results: PeerHandshakeRow[]
}

/** One row of `reqresp.mjs`. */
export interface PeerReqRespRow {
  /** `libp2p-tcp`, `libp2p-quic` or `secret-stream`. */
  stack: string
  /** `per-request` (new stream per request), `pipelined` (one stream) or `streams` (N streams). */
  form: string
  /** Requests outstanding at any time. */
  inflight: number
  /** Request (and echoed response) payload bytes. */
  size: number
  /** Completed round trips per second. */
  roundTripsPerSec: number
  /** Median round-trip latency, milliseconds (null when none completed). */
  p50Ms: number | null
  /** 99th percentile round-trip latency, milliseconds. */
  p99Ms: number | null
}

/** The JSON line of `reqresp.mjs`. */
export interface PeerReqRespResult {
  bench: 'reqresp'
  machine: string
  seconds: number
  size: number
  results: PeerReqRespRow[]
}

/** Options of {@link runPeerBench}. */
export interface PeerBenchOptions {
  /** Kill the child and reject after this long (default 15 minutes). */
  timeoutMs?: number
}

/**
 * The bench/peers folder, found by walking up from this module's folder to the first one that
 * holds `bench/peers/package.json`, so it works from bench/ (source, run by tsx or vitest) and
 * from dist/bench/ (compiled). Undefined when no such folder exists.
 */
export function peersDir(): string | undefined {
  let dir = path.dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const candidate = path.join(dir, 'bench', 'peers')
    if (existsSync(path.join(candidate, 'package.json'))) return candidate
    const parent = path.dirname(dir)
    if (parent === dir) return undefined
    dir = parent
  }
}

/**
 * Runs `node bench/peers/<script> ...args` (e.g. `runPeerBench('reqresp.mjs', ['--seconds',
 * '2'])`) and resolves with the parsed JSON line it prints on stdout. The child's stderr (its
 * progress log) is passed through to this process's stderr.
 *
 * Resolves undefined, after printing "run `npm ci --prefix bench/peers` to include peer
 * baselines" on stderr, when bench/peers/node_modules is missing. Rejects when the script is
 * not in bench/peers, exits non-zero, is killed by the timeout, or prints anything other than
 * one JSON line on stdout. The value is the script's JSON as printed, not validated: see
 * {@link PeerHandshakesResult} and {@link PeerReqRespResult} for what the scripts print.
 */
export async function runPeerBench(
  script: string,
  args: string[],
  options: PeerBenchOptions = {},
): Promise<unknown | undefined> {
  const dir = peersDir()
  if (dir === undefined || !existsSync(path.join(dir, 'node_modules'))) {
    process.stderr.write(
      `peer baselines skipped (${script}): run \`npm ci --prefix bench/peers\` to include peer baselines\n`,
    )
    return undefined
  }
  if (script !== path.basename(script) || !existsSync(path.join(dir, script)))
    throw new Error(`runPeerBench: no script ${script} in ${dir}`)
  const timeoutMs = options.timeoutMs ?? 15 * 60_000
  const child = spawn(process.execPath, [path.join(dir, script), ...args], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const chunks: Buffer[] = []
  child.stdout.on('data', (b: Buffer) => chunks.push(b))
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    child.kill('SIGKILL')
  }, timeoutMs)
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (c) => resolve(c))
  }).finally(() => clearTimeout(timer))
  if (timedOut) throw new Error(`runPeerBench: ${script} did not finish in ${timeoutMs} ms`)
  if (code !== 0) throw new Error(`runPeerBench: ${script} exited with ${code}`)
  const lines = Buffer.concat(chunks).toString('utf8').trim().split('\n')
  if (lines.length !== 1 || lines[0] === '')
    throw new Error(`runPeerBench: ${script} printed ${lines.length} lines, expected one JSON line`)
  return JSON.parse(lines[0]!) as unknown
}
