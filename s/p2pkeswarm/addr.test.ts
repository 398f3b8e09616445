import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  BadAddrError,
  PeerID,
  extractPeerID,
  extractUDP,
  isBadAddrError,
  mapPeerID,
  mapUDP,
  unwrapAll,
} from '../../core/index.js'
import { parsePublicKey } from '../../f/x509/index.js'
import { MemAddr, parseMemAddr } from '../memswarm/index.js'
import { parseUDPAddr } from '../udpswarm/index.js'
import { P2PKEAddr, fingerprintPublicKey, parseP2PKEAddr } from './index.js'

const ID_TEXT = 'CYP1UKKbuJPOOFwpAMDX8GZV1fhzD7cXVmL4L3JApBF'
const peerID = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => new PeerID(b))

interface KeyVector {
  public_key_x509_hex: string
  peer_id: string
  addr_examples: { inner: string; text: string; go_parses_it: boolean }[]
}
const vectors = JSON.parse(
  readFileSync(new URL('../../interop/vectors/keys.json', import.meta.url), 'utf8'),
) as { keys: KeyVector[]; go_peer_id_parse_leniency: { text: string }[] }

describe('P2PKEAddr', () => {
  it('text is <PeerID>@<inner> and parses back (property)', () => {
    fc.assert(
      fc.property(peerID, fc.nat({ max: 1e9 }), (id, n) => {
        const a = new P2PKEAddr(id, new MemAddr(n))
        expect(a.toString()).toBe(`${id}@${n}`)
        const back = parseP2PKEAddr(a.toString(), parseMemAddr)
        expect(back.peerID.equals(id)).toBe(true)
        expect(back.inner.n).toBe(n)
        expect(back.toString()).toBe(a.toString())
        expect(JSON.stringify(a)).toBe(JSON.stringify(a.toString()))
      }),
    )
  })

  it('is a wrapping address: unwrap, map, withPeerID and the core helpers work through it', () => {
    const id = PeerID.parse(ID_TEXT)
    const a = new P2PKEAddr(id, parseUDPAddr('127.0.0.1:5000'))
    expect(unwrapAll(a).toString()).toBe('127.0.0.1:5000')
    expect(extractPeerID(a)?.toString()).toBe(ID_TEXT)
    expect(extractUDP(a)).toEqual({ ip: '127.0.0.1', port: 5000 })
    const moved = mapUDP(a, () => ({ ip: '10.0.0.1', port: 7 }))
    expect(moved).toBeInstanceOf(P2PKEAddr)
    expect(moved.toString()).toBe(`${ID_TEXT}@10.0.0.1:7`)
    const other = new PeerID(new Uint8Array(32))
    expect(mapPeerID(a, () => other).toString()).toBe(`${other}@127.0.0.1:5000`)
    expect(a.map((i) => i.withIPPort('127.0.0.2', 1)).peerID).toBe(id)
  })

  it("agrees with go-p2p's PeerIDs and address texts (interop/vectors/keys.json)", () => {
    for (const k of vectors.keys) {
      const key = parsePublicKey(new Uint8Array(Buffer.from(k.public_key_x509_hex, 'hex')))
      expect(fingerprintPublicKey(key).toString()).toBe(k.peer_id)
      for (const ex of k.addr_examples) {
        if (ex.go_parses_it) {
          expect(parseP2PKEAddr(ex.text, parseUDPAddr).toString()).toBe(ex.text)
        } else {
          // go-p2p prints IPv6 without brackets; nobody can parse that back.
          expect(() => parseP2PKEAddr(ex.text, parseUDPAddr)).toThrow(BadAddrError)
        }
      }
    }
  })

  it('refuses PeerID texts that go-p2p leniently accepts', () => {
    for (const { text } of vectors.go_peer_id_parse_leniency) {
      expect(() => parseP2PKEAddr(`${text}@1`, parseMemAddr)).toThrow(BadAddrError)
    }
  })

  it('rejects malformed text with ERR_BAD_ADDR', () => {
    const bad = [
      '',
      '@',
      '1',
      ID_TEXT,
      `${ID_TEXT}@`,
      `${ID_TEXT}1`,
      `${ID_TEXT.slice(1)}@1`,
      `${ID_TEXT}x@1`,
      `${ID_TEXT.slice(0, -1)}!@1`,
      `${ID_TEXT}@x`,
      `${ID_TEXT}@01`,
      `@${ID_TEXT}@1`,
      ` ${ID_TEXT}@1`,
    ]
    for (const text of bad) expect(() => parseP2PKEAddr(text, parseMemAddr)).toThrow(BadAddrError)
    expect(() => parseP2PKEAddr(42 as unknown as string, parseMemAddr)).toThrow(BadAddrError)
  })

  it('splits at the first @ and wraps non-BadAddr errors of the inner parser', () => {
    const seen: string[] = []
    const a = parseP2PKEAddr(`${ID_TEXT}@a@b`, (t) => {
      seen.push(t)
      return { toString: () => t }
    })
    expect(seen).toEqual(['a@b'])
    expect(a.toString()).toBe(`${ID_TEXT}@a@b`)
    const cause = new Error('inner exploded')
    try {
      parseP2PKEAddr(`${ID_TEXT}@1`, () => {
        throw cause
      })
      expect.unreachable()
    } catch (e) {
      expect(isBadAddrError(e)).toBe(true)
      expect((e as Error).cause).toBe(cause)
    }
  })

  it('random and mutated text: ERR_BAD_ADDR or a canonical address (property)', () => {
    const valid = `${ID_TEXT}@17`
    const mutated = fc
      .tuple(fc.nat(), fc.string({ maxLength: 3 }), fc.nat({ max: 3 }))
      .map(([at, insert, cut]) => {
        const i = at % (valid.length + 1)
        return valid.slice(0, i) + insert + valid.slice(i + cut)
      })
    fc.assert(
      fc.property(fc.oneof(fc.string(), mutated), (text) => {
        let a: P2PKEAddr<MemAddr>
        try {
          a = parseP2PKEAddr(text, parseMemAddr)
        } catch (e) {
          expect(isBadAddrError(e)).toBe(true)
          return
        }
        expect(parseP2PKEAddr(a.toString(), parseMemAddr).toString()).toBe(a.toString())
        expect(a.toString()).toBe(text)
      }),
      { numRuns: 2000 },
    )
  })

  it('constructor checks its arguments', () => {
    expect(() => new P2PKEAddr('x' as unknown as PeerID, new MemAddr(1))).toThrow(TypeError)
    expect(() => new P2PKEAddr(PeerID.parse(ID_TEXT), null as unknown as MemAddr)).toThrow(
      TypeError,
    )
  })
})
