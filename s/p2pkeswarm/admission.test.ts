/**
 * Admission on its own: every reason an InitHello is dropped, in the order the checks run, the
 * memory of accepted InitHellos, the rate limits for new sources and for existing channels, and
 * the default rate-limiter key. No swarm, no sockets: messages are built with a raw `Session`
 * and the time is a number.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Message, PeerID } from '../../core/index.js'
import { defaultBackend } from '../../crypto/index.js'
import {
  ED25519_OID,
  type PrivateKey,
  defaultRegistry,
  marshalPublicKey,
} from '../../f/x509/index.js'
import { testKey } from '../../p2ptest/index.js'
import {
  Session,
  encodeHeader,
  encodeInitHelloPayload,
  encodeTai64n,
  tai64nFromUnixMs,
} from '../../p/p2pke/index.js'
import { MemAddr } from '../memswarm/index.js'
import { parseUDPAddr } from '../udpswarm/index.js'
import {
  Admission,
  type AdmissionOptions,
  type KnownChannel,
  RecentHellos,
  type Verdict,
  defaultRateLimitKey,
  ipv6Prefix64,
} from './admission.js'
import { AllowPolicy } from './allow.js'
import { fingerprintPublicKey } from './fingerprint.js'

const BASE_WALL = 1_704_067_200_000
const backend = defaultBackend()
const registry = defaultRegistry(backend)
const key = (i: number): PrivateKey => ({ algorithm: ED25519_OID, data: testKey(i).seed })
const idOf = (i: number): PeerID =>
  fingerprintPublicKey(registry.publicKeyFromPrivate(key(i)), backend)

/** A signed InitHello from key `i` with timestamp `BASE_WALL + t` ms. */
function hello(i: number, t = 0): Uint8Array {
  return new Session({
    initiator: true,
    privateKey: key(i),
    now: 0,
    timestamp: tai64nFromUnixMs(BASE_WALL + t),
  }).handshakeMessage()!
}

const msg = (src: number, payload: Uint8Array): Message<MemAddr> => ({
  src: new MemAddr(src),
  dst: new MemAddr(0),
  payload,
})

function admission(
  opts: Partial<AdmissionOptions<MemAddr>> & {
    allowList?: ConstructorParameters<typeof AllowPolicy>[0]
  } = {},
  log: (event: string, detail: Record<string, unknown>) => void = () => {},
) {
  return new Admission<MemAddr>({
    fingerprint: (k) => fingerprintPublicKey(k, backend),
    allow: new AllowPolicy(opts.allowList, log),
    registry,
    backend,
    maxChannels: 16,
    maxRememberedHellos: 64,
    rememberHellosMs: 60_000,
    ...opts,
  })
}

const none = (): KnownChannel | undefined => undefined
const action = (v: Verdict<KnownChannel>) => (v.action === 'drop' ? v.reason : v.action)

describe('admission of InitHellos from sources without a channel', () => {
  it('verifies a fresh InitHello and lets it create a channel for its PeerID', () => {
    const a = admission()
    const asked: string[] = []
    const v = a.admit(msg(1, hello(1)), 0, (id) => {
      asked.push(id.toString())
      return undefined
    })
    expect(v.action).toBe('create')
    if (v.action !== 'create') return
    expect(v.id.equals(idOf(1))).toBe(true)
    expect(asked).toEqual([idOf(1).toString()])
    expect(a.stats()).toMatchObject({ verifications: 1, rememberedHellos: 1 })
  })

  it('drops what does not parse as malformed, before any look-up or signature check', () => {
    const a = admission()
    const h = hello(1)
    for (const bad of [
      encodeHeader(0),
      h.subarray(0, 40),
      Uint8Array.of(...h, 0),
      h.slice(0, -1),
    ]) {
      const v = a.admit(msg(1, bad), 0, () => {
        throw new Error('no look-up for a malformed InitHello')
      })
      expect(action(v)).toBe('malformed')
    }
    expect(a.stats()).toMatchObject({ verifications: 0, dropped: { malformed: 4 } })
  })

  it('never throws on random bytes after an InitHello header, and never admits them (property)', () => {
    const a = admission({
      rateLimit: {
        packetsPerSecond: 1e9,
        burst: 1e9,
        globalPacketsPerSecond: Number.POSITIVE_INFINITY,
      },
    })
    const h = hello(2)
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }).map((b) => Uint8Array.of(0, 0, 0, 0, ...b)),
          fc
            .tuple(fc.nat({ max: h.length - 1 }), fc.integer({ min: 1, max: 255 }))
            .filter(([i]) => i >= 36) // past the ephemeral key, which the signature does not cover
            .map(([i, x]) => {
              const m = h.slice()
              m[i] = m[i]! ^ x
              return m
            }),
        ),
        (bytes) => {
          const v = a.admit(msg(3, bytes), 0, none)
          expect(v.action).toBe('drop')
        },
      ),
      { numRuns: 500 },
    )
  })

  it('checks the allow-list before any signature: a set, a function, and a function that throws', () => {
    const set = admission({ allowList: [idOf(2)] })
    expect(action(set.admit(msg(1, hello(1)), 0, none))).toBe('notAllowed')
    expect(action(set.admit(msg(2, hello(2)), 0, none))).toBe('create')
    expect(set.stats()).toMatchObject({ verifications: 1, dropped: { notAllowed: 1 } })

    const seen: string[] = []
    const fn = admission({
      allowList: (id) => {
        seen.push(id.toString())
        return id.equals(idOf(2))
      },
    })
    expect(action(fn.admit(msg(1, hello(1)), 0, none))).toBe('notAllowed')
    expect(action(fn.admit(msg(2, hello(2)), 0, none))).toBe('create')
    expect(seen).toEqual([idOf(1).toString(), idOf(2).toString()])

    const logged: string[] = []
    const throwing = admission(
      {
        allowList: () => {
          throw new Error('boom')
        },
      },
      (event) => logged.push(event),
    )
    expect(action(throwing.admit(msg(1, hello(1)), 0, none))).toBe('notAllowed')
    expect(logged).toEqual(['allow function threw'])
    expect(throwing.stats().verifications).toBe(0)
  })

  it('drops an accepted InitHello replayed from another source, also with another ephemeral key, without a signature check', () => {
    const a = admission()
    const h = hello(1)
    expect(action(a.admit(msg(1, h), 0, none))).toBe('create')
    expect(action(a.admit(msg(2, h), 10, none))).toBe('replay')
    const other = h.slice()
    other.fill(7, 4, 36)
    expect(action(a.admit(msg(3, other), 20, none))).toBe('replay')
    expect(a.stats()).toMatchObject({ verifications: 1, dropped: { replay: 2 } })
    // From its own source it is verified again (the channel it made may be gone).
    expect(action(a.admit(msg(1, h), 30, none))).toBe('create')
    expect(a.stats().verifications).toBe(2)
    // Another timestamp is another InitHello.
    expect(action(a.admit(msg(2, hello(1, 1)), 40, none))).toBe('create')
  })

  it('forgets accepted InitHellos after rememberHellosMs, on look-up and on gc', () => {
    const a = admission({ rememberHellosMs: 1000 })
    const h = hello(1)
    a.admit(msg(1, h), 0, none)
    expect(action(a.admit(msg(2, h), 1000, none))).toBe('replay')
    expect(action(a.admit(msg(2, h), 1001, none))).toBe('create')
    a.admit(msg(3, hello(3)), 1001, none)
    expect(a.stats().rememberedHellos).toBe(2)
    a.gc(2001)
    expect(a.stats().rememberedHellos).toBe(2)
    a.gc(2002)
    expect(a.stats().rememberedHellos).toBe(0)
  })

  it('does not remember an InitHello that fails its signature check', () => {
    const a = admission()
    const forged = Uint8Array.of(
      ...encodeHeader(0),
      ...new Uint8Array(32).fill(9),
      ...encodeInitHelloPayload({
        version: 1,
        timestampTai64n: encodeTai64n(tai64nFromUnixMs(BASE_WALL)),
        keyX509: marshalPublicKey(registry.publicKeyFromPrivate(key(1))),
        sig: new Uint8Array(64).fill(1),
      }),
    )
    expect(action(a.admit(msg(1, forged), 0, none))).toBe('authFailed')
    expect(action(a.admit(msg(2, forged), 0, none))).toBe('authFailed')
    expect(a.stats()).toMatchObject({
      verifications: 2,
      rememberedHellos: 0,
      dropped: { authFailed: 2 },
    })
  })

  it('rate-limits per source before the signature check: a burst of 5, then one token per 50 ms', () => {
    const a = admission()
    const verdicts = Array.from({ length: 8 }, (_, i) =>
      action(a.admit(msg(1, hello(10 + i)), 0, none)),
    )
    expect(verdicts).toEqual([...Array(5).fill('create'), ...Array(3).fill('rateLimited')])
    expect(a.stats()).toMatchObject({ verifications: 5, dropped: { rateLimited: 3 } })
    expect(action(a.admit(msg(1, hello(20)), 49, none))).toBe('rateLimited')
    expect(action(a.admit(msg(1, hello(20)), 50, none))).toBe('create')
    // Another source has its own bucket.
    expect(action(a.admit(msg(2, hello(21)), 50, none))).toBe('create')
  })

  it('limits all sources together with the global bucket', () => {
    const a = admission({ rateLimit: { globalBurst: 3, globalPacketsPerSecond: 10 } })
    const verdicts = Array.from({ length: 5 }, (_, i) =>
      action(a.admit(msg(100 + i, hello(30 + i)), 0, none)),
    )
    expect(verdicts).toEqual(['create', 'create', 'create', 'rateLimited', 'rateLimited'])
    expect(a.stats().rateLimiter).toMatchObject({ allowed: 3, limitedGlobal: 2 })
  })

  it('forgets idle limiter entries on gc, and everything on clear (counters stay)', () => {
    const a = admission()
    a.admit(msg(1, hello(1)), 0, none)
    a.admit(msg(2, hello(2)), 0, none)
    expect(a.stats().rateLimiter.entries).toBe(2)
    a.gc(1001)
    expect(a.stats().rateLimiter.entries).toBe(0)
    a.admit(msg(1, hello(1, 5)), 2000, none)
    a.clear()
    expect(a.stats()).toMatchObject({
      verifications: 3,
      rememberedHellos: 0,
      rateLimiter: { entries: 0 },
    })
  })
})

describe('admission of InitHellos to an existing channel', () => {
  it('delivers to the channel without the allow-list, replay memory or a signature check', () => {
    const a = admission({ allowList: [idOf(9)] })
    const h = hello(1)
    const ch = { key: 'half-open', established: false }
    const v = a.admit(msg(1, h), 0, (id) => (id.equals(idOf(1)) ? ch : undefined))
    expect(v).toEqual({ action: 'deliver', channel: ch })
    expect(a.stats()).toMatchObject({ verifications: 0, rememberedHellos: 0 })
  })

  it("charges a half-open channel's InitHellos to its source's bucket, and reports the channel when it drops one", () => {
    const a = admission()
    const ch = { key: 'half-open', established: false }
    for (let i = 0; i < 4; i++) a.admit(msg(1, hello(40 + i)), 0, none)
    expect(a.admit(msg(1, hello(1)), 0, () => ch)).toEqual({ action: 'deliver', channel: ch })
    expect(a.admit(msg(1, hello(1)), 0, () => ch)).toEqual({
      action: 'drop',
      reason: 'rateLimited',
      channel: ch,
    })
  })

  it('gives an established channel its own bucket, outside the global one', () => {
    const a = admission({ rateLimit: { globalBurst: 1, globalPacketsPerSecond: 1 } })
    expect(action(a.admit(msg(1, hello(50)), 0, none))).toBe('create')
    expect(action(a.admit(msg(2, hello(51)), 0, none))).toBe('rateLimited') // global bucket empty
    const ch = { key: `${idOf(1)}@1`, established: true }
    const verdicts = Array.from({ length: 6 }, () => action(a.admit(msg(1, hello(1)), 0, () => ch)))
    expect(verdicts).toEqual([...Array(5).fill('deliver'), 'rateLimited'])
    expect(a.stats().peerRateLimiter).toMatchObject({ allowed: 5, limited: 1, entries: 1 })
  })
})

describe('RecentHellos', () => {
  it('recalls the source within the time to live, and forgets after it', () => {
    const r = new RecentHellos(4, 100)
    r.remember('a', 'src1', 0)
    expect(r.recall('a', 100)).toBe('src1')
    expect(r.recall('b', 100)).toBeUndefined()
    expect(r.recall('a', 101)).toBeUndefined()
    expect(r.size).toBe(0)
  })

  it('forgets the oldest when full, and the expired when remembering or on forgetExpired', () => {
    const r = new RecentHellos(2, 100)
    r.remember('a', 's', 0)
    r.remember('b', 's', 1)
    r.remember('c', 's', 2)
    expect([r.recall('a', 2), r.recall('b', 2), r.recall('c', 2)]).toEqual([undefined, 's', 's'])
    r.remember('d', 's', 102) // b expired: gone; c still there; d added
    expect(r.size).toBe(2)
    r.forgetExpired(103)
    expect(r.size).toBe(1)
    r.clear()
    expect(r.size).toBe(0)
  })

  it('stays within its bound, never recalls an expired entry, and keeps an entry while fewer than max − 1 others come after it (property)', () => {
    const MAX = 5
    const TTL = 50
    const op = fc.record({
      remember: fc.boolean(),
      key: fc.integer({ min: 0, max: 9 }).map(String),
      src: fc.constantFrom('x', 'y'),
      dt: fc.integer({ min: 0, max: 20 }),
    })
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const r = new RecentHellos(MAX, TTL)
        const log: { key: string; src: string; at: number }[] = []
        let now = 0
        for (const o of ops) {
          now += o.dt
          if (o.remember) {
            r.remember(o.key, o.src, now)
            log.push({ key: o.key, src: o.src, at: now })
          } else {
            const got = r.recall(o.key, now)
            const i = log.findLastIndex((e) => e.key === o.key)
            if (i < 0 || now - log[i]!.at > TTL) {
              expect(got).toBeUndefined()
            } else {
              const others = new Set(log.slice(i + 1).map((e) => e.key)).size
              if (others < MAX - 1) expect(got).toBe(log[i]!.src)
              if (others >= MAX) expect(got).toBeUndefined()
            }
          }
          expect(r.size).toBeLessThanOrEqual(MAX)
        }
      }),
      { numRuns: 500 },
    )
  })
})

describe('defaultRateLimitKey', () => {
  it('keys IPv4 by the IP, IPv6 by its /64, loopback by the whole address, and non-IP addresses by their text', () => {
    expect(defaultRateLimitKey(parseUDPAddr('203.0.113.7:4000'))).toBe('203.0.113.7')
    expect(defaultRateLimitKey(parseUDPAddr('[2001:db8:1:2:3:4:5:6]:9'))).toBe('2001:db8:1:2::/64')
    expect(defaultRateLimitKey(parseUDPAddr('[2001:db8::1]:9'))).toBe('2001:db8:0:0::/64')
    expect(defaultRateLimitKey(parseUDPAddr('[::ffff:198.51.100.1]:9'))).toBe('198.51.100.1')
    expect(defaultRateLimitKey(parseUDPAddr('127.0.0.1:5'))).toBe('127.0.0.1:5')
    expect(defaultRateLimitKey(parseUDPAddr('[::1]:5'))).toBe('[::1]:5')
    expect(defaultRateLimitKey(new MemAddr(42))).toBe('42')
  })

  it('ignores the port and the low 64 bits of IPv6 (property)', () => {
    const group = fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16))
    fc.assert(
      fc.property(
        fc.array(group, { minLength: 8, maxLength: 8 }),
        fc.array(group, { minLength: 4, maxLength: 4 }),
        fc.integer({ min: 1, max: 65535 }),
        fc.integer({ min: 1, max: 65535 }),
        (g, low, p1, p2) => {
          fc.pre(g[0] !== '0' && !(g[0] === 'fe80')) // keep to global-looking prefixes
          const a = parseUDPAddr(`[${g.join(':')}]:${p1}`)
          const b = parseUDPAddr(`[${[...g.slice(0, 4), ...low].join(':')}]:${p2}`)
          expect(defaultRateLimitKey(a)).toBe(defaultRateLimitKey(b))
          expect(defaultRateLimitKey(a)).toBe(`${g.slice(0, 4).join(':')}::/64`)
        },
      ),
      { numRuns: 300 },
    )
  })
})

describe('ipv6Prefix64', () => {
  it('expands every spelling to four groups without leading zeros', () => {
    expect(ipv6Prefix64('2001:0DB8:0000:0001::5')).toBe('2001:db8:0:1::/64')
    expect(ipv6Prefix64('1:2:3:4:5:6:7:8')).toBe('1:2:3:4::/64')
    expect(ipv6Prefix64('1:2::7:8')).toBe('1:2:0:0::/64')
    expect(ipv6Prefix64('::5:6:7:8')).toBe('0:0:0:0::/64')
    expect(ipv6Prefix64('::')).toBe('0:0:0:0::/64')
    expect(ipv6Prefix64('fe80::1%eth0')).toBe('fe80:0:0:0::/64')
  })

  it('agrees with the full expansion for any address and any run of zeros compressed (property)', () => {
    const group = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff }))
    fc.assert(
      fc.property(
        fc.array(group, { minLength: 8, maxLength: 8 }),
        fc.nat(8),
        fc.nat(8),
        fc.boolean(),
        (g, s, len, pad) => {
          const hex = g.map((n) => (pad ? n.toString(16).padStart(4, '0') : n.toString(16)))
          let text = hex.join(':')
          // Compress the zero groups g[s, s+len) when they are all zero.
          const end = Math.min(8, s + len)
          if (end - s >= 1 && g.slice(s, end).every((n) => n === 0)) {
            text = `${hex.slice(0, s).join(':')}::${hex.slice(end).join(':')}`
          }
          const want = `${g
            .slice(0, 4)
            .map((n) => n.toString(16))
            .join(':')}::/64`
          expect(ipv6Prefix64(text)).toBe(want)
        },
      ),
      { numRuns: 1000 },
    )
  })
})
