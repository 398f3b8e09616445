/**
 * A cache of values derived from key bytes (an expanded signing key, a node:crypto KeyObject),
 * keyed by the identity of the caller's array. Each entry keeps a copy of the bytes it was
 * derived from and is used only while the array still holds those bytes, so a caller that
 * reuses or modifies an array gets a fresh derivation, never a stale one. Entries go away with
 * their array (WeakMap), so the cache never grows beyond the keys the program still holds.
 */
export class KeyCache<V> {
  readonly #derive: (key: Uint8Array) => V
  readonly #entries = new WeakMap<Uint8Array, { bytes: Uint8Array; value: V }>()

  constructor(derive: (key: Uint8Array) => V) {
    this.#derive = derive
  }

  /** The value derived from `key`'s current bytes. */
  get(key: Uint8Array): V {
    const hit = this.#entries.get(key)
    if (hit !== undefined && sameBytes(hit.bytes, key)) return hit.value
    const value = this.#derive(key)
    this.#entries.set(key, { bytes: key.slice(), value })
    return value
  }

  /** Records a value already derived for `key` (e.g. a KeyObject made by key generation). */
  set(key: Uint8Array, value: V): void {
    this.#entries.set(key, { bytes: key.slice(), value })
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!
  return diff === 0
}
