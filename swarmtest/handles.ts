/**
 * Open-handle accounting: after a test closes its swarms, no socket, timer or other resource
 * it created may keep the process alive.
 */
import assert from 'node:assert/strict'

/** Counts of active resources by type (`process.getActiveResourcesInfo()`). */
export type HandleCounts = Map<string, number>

/** The resources active now. */
export function handleSnapshot(): HandleCounts {
  const counts: HandleCounts = new Map()
  for (const type of process.getActiveResourcesInfo()) counts.set(type, (counts.get(type) ?? 0) + 1)
  return counts
}

function grown(before: HandleCounts, now: HandleCounts): string[] {
  const out: string[] = []
  for (const [type, n] of now) {
    const was = before.get(type) ?? 0
    if (n > was) out.push(`${type}: ${was} → ${n}`)
  }
  return out
}

/**
 * Waits (on the event loop, up to `waitMs`) for the resources to fall back to `before`:
 * closing a socket frees its handle a turn or two later. Fails listing what stayed open.
 */
export async function assertNoNewHandles(before: HandleCounts, waitMs = 2000): Promise<void> {
  const until = Date.now() + waitMs
  let extra = grown(before, handleSnapshot())
  while (extra.length > 0 && Date.now() < until) {
    await new Promise<void>((resolve) => setImmediate(resolve))
    extra = grown(before, handleSnapshot())
  }
  assert.deepEqual(extra, [], `handles left open after close: ${extra.join(', ')}`)
}
