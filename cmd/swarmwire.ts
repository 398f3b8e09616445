#!/usr/bin/env node
/**
 * The `swarmwire` command.
 *
 *   swarmwire demo [--nodes N] [--seconds S]   nodes telling and asking each other
 */
import { parseArgs } from 'node:util'
import { Realm } from '../s/memswarm/index.js'
import { secureMemStack, secureUDPStack } from '../stack/index.js'
import { runDemo } from './demo.js'

const USAGE = `usage: swarmwire <command> [options]

commands:
  demo [--nodes N] [--seconds S] [--stack udp|mem]
                                   N nodes (default 8) on the secure UDP stack (udp → p2pke →
                                   ask on 127.0.0.1; or in memory) tell and ask each other for
                                   S seconds (default 2) and print per-node counts and latencies
`

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  if (command === 'demo') return demo(rest)
  process.stderr.write(
    command === undefined || command === 'help' || command === '--help'
      ? USAGE
      : `unknown command ${JSON.stringify(command)}\n\n${USAGE}`,
  )
  return command === undefined || command === 'help' || command === '--help' ? 0 : 2
}

async function demo(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      nodes: { type: 'string', default: '8' },
      seconds: { type: 'string', default: '2' },
      stack: { type: 'string', default: 'udp' },
    },
    strict: true,
  })
  const nodes = Number(values.nodes)
  const seconds = Number(values.seconds)
  if (!Number.isInteger(nodes) || nodes < 2 || nodes > 1000)
    throw new UsageError('--nodes must be an integer from 2 to 1000')
  if (!(seconds >= 0 && seconds <= 3600))
    throw new UsageError('--seconds must be a number from 0 to 3600')
  const stack = values.stack
  if (stack !== 'udp' && stack !== 'mem') throw new UsageError('--stack must be udp or mem')
  const what = stack === 'udp' ? 'udp → p2pke → ask on 127.0.0.1' : 'mem → p2pke → ask'
  console.log(`swarmwire demo: ${nodes} nodes, ${what}, ${seconds} s`)
  if (stack === 'udp') {
    await runDemo(
      (n) => Promise.all(Array.from({ length: n }, () => secureUDPStack('127.0.0.1:0'))),
      {
        nodes,
        seconds,
      },
    )
  } else {
    const realm = new Realm()
    await runDemo(async (n) => Array.from({ length: n }, () => secureMemStack(realm)), {
      nodes,
      seconds,
    })
  }
  return 0
}

class UsageError extends Error {}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (err: unknown) => {
    const usage =
      err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
    process.stderr.write(
      `swarmwire: ${(err as Error).message ?? String(err)}\n${usage ? `\n${USAGE}` : ''}`,
    )
    process.exitCode = usage ? 2 : 1
  },
)
