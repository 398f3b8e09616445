import { describe, expect, it } from 'vitest'
import { composeAskSwarm } from '../core/index.js'
import { Realm } from '../s/memswarm/index.js'
import { secureMemStack } from '../stack/index.js'
import { percentile, runDemo } from './demo.js'

describe('demo', () => {
  it('every node tells and asks every other, and the table says so', async () => {
    const realm = new Realm()
    const lines: string[] = []
    const reports = await runDemo(
      async (n) => Array.from({ length: n }, () => secureMemStack(realm)),
      {
        nodes: 3,
        seconds: 0,
        print: (l) => lines.push(l),
      },
    )
    expect(reports).toHaveLength(3)
    for (const r of reports) {
      expect(r.asksOk).toBeGreaterThanOrEqual(2)
      expect(r.asksFailed).toBe(0)
      expect(r.tellsSent).toBe(r.asksOk)
    }
    expect(lines[0]).toMatch(/node\s+address\s+tells out/)
    expect(lines.at(-1)).toMatch(/^total: \d+\/\d+ tells delivered/)
  })

  it('fails with a clear message when nodes get no answers', async () => {
    const realm = new Realm()
    const lines: string[] = []
    const make = async (n: number) => {
      const swarms = Array.from({ length: n }, () => realm.newSwarm())
      // Every node refuses to serve: its handlers throw.
      return swarms.map((s) =>
        composeAskSwarm(s, {
          ask: (dst, req, opts) => s.ask(dst, req, opts),
          serveAsk: (_handler, opts) =>
            s.serveAsk(() => {
              throw new Error('refused')
            }, opts),
        }),
      )
    }
    await expect(
      runDemo(make, { nodes: 2, seconds: 0, print: (l) => lines.push(l) }),
    ).rejects.toThrow(/demo failed: 2 node\(s\) got no answers[\s\S]*refused/)
  })

  it('percentile is nearest-rank', () => {
    expect(percentile([5, 1, 3, 2, 4], 50)).toBe(3)
    expect(percentile([5, 1, 3, 2, 4], 99)).toBe(5)
    expect(percentile([], 50)).toBeNaN()
  })
})
