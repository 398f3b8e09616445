import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Realm } from '../s/memswarm/index.js'
import {
  ManualClock,
  chain,
  cluster,
  dropFirstPairwise,
  dropFirstTuple,
  edgeCount,
  hubAndSpoke,
  randomRegular,
  ring,
  testKey,
  topologyTransform,
} from './index.js'

const bytes = (s: string) => new TextEncoder().encode(s)

describe('topologies', () => {
  it('have the expected shapes', () => {
    expect(chain(4)).toEqual([[1], [0, 2], [1, 3], [2]])
    expect(ring(4)).toEqual([
      [1, 3],
      [0, 2],
      [1, 3],
      [0, 2],
    ])
    expect(edgeCount(cluster(5))).toBe(10)
    expect(hubAndSpoke(4)).toEqual([[1, 2, 3], [0], [0], [0]])
    expect(chain(1)).toEqual([[]])
  })

  it('random k-regular graphs are k-regular, symmetric, simple and reproducible (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 30 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer(),
        (n, k, seed) => {
          fc.pre(k < n && (n * k) % 2 === 0)
          const adj = randomRegular(n, k, seed)
          expect(randomRegular(n, k, seed)).toEqual(adj)
          adj.forEach((nbrs, i) => {
            expect(nbrs).toHaveLength(k)
            expect(nbrs).not.toContain(i)
            for (const j of nbrs) expect(adj[j]).toContain(i)
          })
        },
      ),
      { numRuns: 50 },
    )
    expect(() => randomRegular(5, 3)).toThrow(RangeError)
  })

  it('topologyTransform only lets tells through along links', async () => {
    const realm = new Realm({ transform: topologyTransform(chain(3)) })
    const [a, b, c] = [realm.newSwarm(), realm.newSwarm(), realm.newSwarm()]
    await a.tell(c.addr, bytes('skip'))
    await a.tell(b.addr, bytes('next'))
    await b.receive((m) => expect(new TextDecoder().decode(m.payload)).toBe('next'))
    expect(realm.stats().transformedAway).toBe(1)
    expect(c.stats().inbox.accepted).toBe(0)
    await realm.close()
  })
})

describe('fault transforms', () => {
  it('dropFirstPairwise drops exactly the first tell per ordered pair', async () => {
    const realm = new Realm({ transform: dropFirstPairwise() })
    const [a, b] = [realm.newSwarm(), realm.newSwarm()]
    for (const m of ['1', '2', '3']) await a.tell(b.addr, bytes(m))
    await b.tell(a.addr, bytes('x'))
    await b.tell(a.addr, bytes('y'))
    expect(b.stats().inbox.accepted).toBe(2)
    expect(a.stats().inbox.accepted).toBe(1)
    await realm.close()
  })

  it('dropFirstTuple drops the first copy of each distinct message', async () => {
    const realm = new Realm({ transform: dropFirstTuple() })
    const [a, b] = [realm.newSwarm(), realm.newSwarm()]
    for (const m of ['p', 'p', 'q', 'q', 'p']) await a.tell(b.addr, bytes(m))
    expect(b.stats().inbox.accepted).toBe(3)
    await realm.close()
  })
})

describe('testKey', () => {
  it('is deterministic, distinct per index, and a valid Ed25519 key pair', () => {
    const k0 = testKey(0)
    expect(testKey(0)).toEqual(k0)
    expect(testKey(1).publicKey).not.toEqual(k0.publicKey)
    const prefix = Buffer.from('302e020100300506032b657004220420', 'hex')
    const priv = createPrivateKey({
      key: Buffer.concat([prefix, k0.seed]),
      format: 'der',
      type: 'pkcs8',
    })
    const sig = sign(null, Buffer.from('msg'), priv)
    const pubDer = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), k0.publicKey])
    const pub = createPublicKey({ key: pubDer, format: 'der', type: 'spki' })
    expect(verify(null, Buffer.from('msg'), pub, sig)).toBe(true)
  })
})

describe('ManualClock', () => {
  it('fires timers in due order, including timers set by timers, and cancels', () => {
    const clock = new ManualClock(1000)
    const fired: string[] = []
    clock.setTimeout(() => fired.push('b@20'), 20)
    const cancel = clock.setTimeout(() => fired.push('never'), 15)
    clock.setTimeout(() => {
      fired.push(`a@${clock.now()}`)
      clock.setTimeout(() => fired.push(`c@${clock.now()}`), 5)
    }, 10)
    cancel()
    cancel()
    clock.advance(19)
    expect(fired).toEqual(['a@1010', 'c@1015'])
    expect(clock.now()).toBe(1019)
    clock.advance(1)
    expect(fired).toEqual(['a@1010', 'c@1015', 'b@20'])
    expect(clock.pending).toBe(0)
  })

  it('tick lets promise continuations run between timers', async () => {
    const clock = new ManualClock()
    const order: string[] = []
    const wait = (ms: number) => new Promise<void>((r) => clock.setTimeout(r, ms))
    const task = (async () => {
      await wait(10)
      order.push('after 10')
      await wait(10)
      order.push('after 20')
    })()
    await clock.tick(25)
    await task
    expect(order).toEqual(['after 10', 'after 20'])
  })
})
