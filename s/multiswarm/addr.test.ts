import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  extractPeerID,
  isBadAddrError,
  isWrappingAddr,
  mapPeerID,
  PeerID,
} from '../../core/index.js'
import { MemAddr } from '../memswarm/index.js'
import { MultiAddr, isValidScheme, splitMultiAddr, trustedMultiAddr } from './addr.js'

describe('MultiAddr', () => {
  it('prints scheme://inner and wraps the inner address', () => {
    const a = new MultiAddr('mem', new MemAddr(3))
    expect(a.toString()).toBe('mem://3')
    expect(JSON.stringify({ a })).toBe('{"a":"mem://3"}')
    expect(isWrappingAddr(a)).toBe(true)
    expect(a.unwrap()).toBe(a.inner)
    const b = a.map((m) => new MemAddr(m.n + 1))
    expect(b).toBeInstanceOf(MultiAddr)
    expect(b.toString()).toBe('mem://4')
    expect(a.toString()).toBe('mem://3')
  })

  it('lets core introspection reach through it', () => {
    const id = new PeerID(new Uint8Array(32).fill(1))
    const a = new MultiAddr('peer', id)
    expect(extractPeerID(a)?.equals(id)).toBe(true)
    const other = new PeerID(new Uint8Array(32).fill(2))
    const mapped = mapPeerID(a, () => other)
    expect(mapped).toBeInstanceOf(MultiAddr)
    expect(mapped.toString()).toBe(`peer://${other}`)
  })

  it('builds trusted addresses equal to checked ones, and still checks every other construction', () => {
    const t = trustedMultiAddr('mem', new MemAddr(3))
    expect(t).toBeInstanceOf(MultiAddr)
    expect(t.toString()).toBe('mem://3')
    expect(t.map((m) => new MemAddr(m.n + 1)).toString()).toBe('mem://4')
    // The trust ends with the call: the public constructor checks again.
    expect(() => new MultiAddr('a b', new MemAddr(0))).toThrow(RangeError)
  })

  it('refuses invalid schemes as an argument error', () => {
    for (const s of ['', 'a:b', 'a/b', '-x', 'x'.repeat(65), 'a b', 'é']) {
      expect(() => new MultiAddr(s, new MemAddr(0)), s).toThrow(RangeError)
      expect(isValidScheme(s)).toBe(false)
    }
    for (const s of ['udp', 'mem', 'a', 'quic-v1', 'x+y.z_0', '9p'])
      expect(isValidScheme(s)).toBe(true)
  })
})

describe('splitMultiAddr', () => {
  it('splits at the first ://', () => {
    expect(splitMultiAddr('udp://1.2.3.4:5')).toEqual({ scheme: 'udp', rest: '1.2.3.4:5' })
    expect(splitMultiAddr('a://b://c')).toEqual({ scheme: 'a', rest: 'b://c' })
  })

  it('rejects garbage with BadAddrError', () => {
    for (const text of [
      '',
      'udp',
      'udp:/x',
      '://x',
      'udp://',
      ' udp://x',
      'u:p://x',
      '\u0000://x',
    ]) {
      let err: unknown
      try {
        splitMultiAddr(text)
      } catch (e) {
        err = e
      }
      expect(isBadAddrError(err), JSON.stringify(text)).toBe(true)
    }
  })

  it('throws only BadAddrError on any text, and round-trips what it accepts (property)', () => {
    const scheme = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_+.-]{0,10}$/)
    const valid = fc.tuple(scheme, fc.string({ minLength: 1 })).map(([s, r]) => `${s}://${r}`)
    const mutated = fc
      .tuple(valid, fc.nat(), fc.string({ maxLength: 3 }), fc.nat({ max: 3 }))
      .map(([t, at, ins, cut]) => {
        const i = at % (t.length + 1)
        return t.slice(0, i) + ins + t.slice(i + cut)
      })
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), valid, mutated), (text) => {
        let got: { scheme: string; rest: string }
        try {
          got = splitMultiAddr(text)
        } catch (e) {
          expect(isBadAddrError(e)).toBe(true)
          return
        }
        expect(`${got.scheme}://${got.rest}`).toBe(text)
        expect(isValidScheme(got.scheme)).toBe(true)
        expect(got.rest.length).toBeGreaterThan(0)
      }),
      { numRuns: 2000 },
    )
  })
})
