/**
 * memswarm tells/s and asks/s with 1 and 64 in flight, beside a raw async-queue handoff.
 */
import { setMaxListeners } from 'node:events'
import { Realm } from '../s/memswarm/index.js'
import { type Result, opsPerSecond } from './lib.js'
import { RawQueue } from './queue.js'

const PAYLOAD = new Uint8Array(64)
const BATCH = 1000

/**
 * Pushes BATCH messages through `send`/`recv` keeping at most `window` sent but not yet
 * received: the sender waits for the receiver's progress, never for a timer.
 */
async function windowed(
  window: number,
  send: () => Promise<void> | void,
  recv: () => Promise<void>,
): Promise<number> {
  let received = 0
  let wake: (() => void) | undefined
  const receiving = (async () => {
    while (received < BATCH) {
      await recv()
      received++
      if (wake !== undefined) {
        const w = wake
        wake = undefined
        w()
      }
    }
  })()
  for (let sent = 0; sent < BATCH; sent++) {
    while (sent - received >= window) await new Promise<void>((r) => (wake = r))
    await send()
  }
  await receiving
  return BATCH
}

async function memTells(window: number, seconds: number): Promise<number> {
  const realm = new Realm({ inboxItems: 4096 })
  const [a, b] = [realm.newSwarm(), realm.newSwarm()]
  const noop = () => {}
  try {
    return await opsPerSecond(
      () =>
        windowed(
          window,
          () => a.tell(b.addr, PAYLOAD),
          () => b.receive(noop),
        ),
      seconds,
    )
  } finally {
    await realm.close()
  }
}

async function rawTells(window: number, seconds: number): Promise<number> {
  const q = new RawQueue<Uint8Array>()
  return opsPerSecond(
    () =>
      windowed(
        window,
        () => q.push(PAYLOAD.slice()),
        async () => void (await q.take()),
      ),
    seconds,
  )
}

/** `inFlight` concurrent askers, each asking in a loop. */
async function memAsks(inFlight: number, seconds: number): Promise<number> {
  const realm = new Realm()
  const [a, b] = [realm.newSwarm(), realm.newSwarm()]
  const stop = new AbortController()
  setMaxListeners(inFlight + 1, stop.signal)
  const serving = Array.from({ length: inFlight }, async () => {
    for (;;) {
      try {
        await b.serveAsk((req) => req.payload, { signal: stop.signal })
      } catch {
        return
      }
    }
  })
  const per = Math.max(1, Math.floor(BATCH / inFlight))
  const op = async () => {
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        for (let i = 0; i < per; i++) await a.ask(b.addr, PAYLOAD)
      }),
    )
    return per * inFlight
  }
  try {
    return await opsPerSecond(op, seconds)
  } finally {
    stop.abort()
    await realm.close()
    await Promise.all(serving)
  }
}

async function rawAsks(inFlight: number, seconds: number): Promise<number> {
  const q = new RawQueue<{ req: Uint8Array; reply: (r: Uint8Array) => void }>()
  let running = true
  const servers = Array.from({ length: inFlight }, async () => {
    while (running) {
      const { req, reply } = await q.take()
      reply(req.slice())
    }
  })
  const per = Math.max(1, Math.floor(BATCH / inFlight))
  const op = async () => {
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        for (let i = 0; i < per; i++)
          await new Promise<Uint8Array>((reply) => q.push({ req: PAYLOAD.slice(), reply }))
      }),
    )
    return per * inFlight
  }
  const r = await opsPerSecond(op, seconds)
  running = false
  for (let i = 0; i < inFlight; i++) q.push({ req: PAYLOAD, reply: () => {} })
  await Promise.all(servers)
  return r
}

/** Runs the memswarm benchmarks. */
export async function benchMemswarm(seconds: number): Promise<Result[]> {
  const out: Result[] = []
  for (const w of [1, 64]) {
    const variant = `${w} in flight, 64 B`
    out.push({ name: 'raw async queue: tell', variant, opsPerSec: await rawTells(w, seconds) })
    out.push({
      name: 'memswarm tell',
      variant,
      opsPerSec: await memTells(w, seconds),
      baseline: 'raw async queue: tell',
    })
  }
  for (const w of [1, 64]) {
    const variant = `${w} in flight, 64 B`
    out.push({ name: 'raw async queue: ask', variant, opsPerSec: await rawAsks(w, seconds) })
    out.push({
      name: 'memswarm ask',
      variant,
      opsPerSec: await memAsks(w, seconds),
      baseline: 'raw async queue: ask',
    })
  }
  return out
}
