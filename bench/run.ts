/**
 * `npm run bench [-- names...] [--seconds S]`: runs the benchmarks and prints markdown tables
 * (paste them into bench/README.md with the machine line).
 */
import { parseArgs } from 'node:util'
import { benchAsks } from './asks.js'
import { type Result, machine, printTable } from './lib.js'
import { benchMemswarm } from './memswarm.js'
import { benchP2pke } from './p2pke.js'
import { benchUdp } from './udp.js'

const BENCHES: Record<string, { title: string; run: (seconds: number) => Promise<Result[]> }> = {
  memswarm: { title: 'memswarm', run: benchMemswarm },
  udp: { title: 'udp stack vs raw node:dgram', run: benchUdp },
  p2pke: { title: 'P2PKE handshakes and sealed messages', run: benchP2pke },
  asks: { title: 'asks: swarmwire stacks vs js-libp2p and secret-stream', run: benchAsks },
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: { seconds: { type: 'string', default: '2' } },
    allowPositionals: true,
  })
  const seconds = Number(values.seconds)
  const names = positionals.length > 0 ? positionals : Object.keys(BENCHES)
  for (const n of names)
    if (!(n in BENCHES))
      throw new Error(`unknown benchmark ${n}; have: ${Object.keys(BENCHES).join(', ')}`)
  console.log(`machine: ${machine()}`)
  for (const n of names) {
    const b = BENCHES[n]!
    printTable(b.title, await b.run(seconds))
  }
}

main().catch((e: unknown) => {
  console.error(e)
  process.exitCode = 1
})
