/** Addresses in a memswarm `Realm`: the node number. */
import { BadAddrError } from '../../core/index.js'
import type { Addr } from '../../core/index.js'

/** A node in a `Realm`. Text form: the decimal node number, e.g. `"3"`. */
export class MemAddr implements Addr {
  /** The node number, a non-negative safe integer. */
  readonly n: number

  constructor(n: number) {
    if (!Number.isSafeInteger(n) || n < 0)
      throw new RangeError(`node number must be a non-negative integer, got ${n}`)
    this.n = n
  }

  toString(): string {
    return String(this.n)
  }
}

/** Parses a node number: decimal digits, no sign, no leading zeros. Throws `BadAddrError`. */
export function parseMemAddr(text: string): MemAddr {
  if (typeof text !== 'string' || !/^(0|[1-9][0-9]{0,14})$/.test(text)) {
    throw new BadAddrError(`bad memswarm address ${JSON.stringify(text)}: want a node number`)
  }
  return new MemAddr(Number(text))
}
