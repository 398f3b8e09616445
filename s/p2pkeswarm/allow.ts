/**
 * The allow-list of a swarm, compiled once: who may connect, in either direction.
 *
 * A set of PeerIDs is known before any handshake, so tells and lookups to a PeerID outside it
 * fail at once; a function needs the key, so it is only asked once a key is in hand (an
 * InitHello's, or a handshake's).
 */
import { PeerID } from '../../core/index.js'
import type { PublicKey } from '../../f/x509/index.js'
import type { AllowList } from './options.js'

/** `AllowList` checked, with a set's PeerIDs in canonical text. */
export class AllowPolicy {
  readonly #fn: ((id: PeerID, key: PublicKey) => boolean) | undefined
  readonly #set: ReadonlySet<string> | undefined
  readonly #log: (event: string, detail: Record<string, unknown>) => void

  /**
   * Throws `TypeError` when `allow` is neither a function nor an iterable, and `BadAddrError`
   * for a PeerID text that does not parse. `log` hears of an allow function that throws.
   */
  constructor(
    allow: AllowList | undefined,
    log: (event: string, detail: Record<string, unknown>) => void,
  ) {
    this.#log = log
    if (typeof allow === 'function') {
      this.#fn = allow
    } else if (allow !== undefined) {
      if (typeof (allow as Iterable<unknown>)[Symbol.iterator] !== 'function') {
        throw new TypeError('allow must be a function or an iterable of PeerIDs')
      }
      const set = new Set<string>()
      for (const id of allow)
        set.add(typeof id === 'string' ? PeerID.parse(id).toString() : id.toString())
      this.#set = set
    }
  }

  /**
   * True when the list is a set without `id`: refused before any key is known. (With a function
   * or no list, nothing is refused by PeerID alone.)
   */
  excludes(id: PeerID): boolean {
    return this.#set !== undefined && !this.#set.has(id.toString())
  }

  /**
   * True when `id` with `key` may connect. An allow function that throws or returns anything but
   * `true` refuses (a throw is logged).
   */
  admits(id: PeerID, key: PublicKey): boolean {
    if (this.#set !== undefined) return this.#set.has(id.toString())
    if (this.#fn === undefined) return true
    try {
      return this.#fn(id, key) === true
    } catch (err) {
      this.#log('allow function threw', { err, id: id.toString() })
      return false
    }
  }
}
