/**
 * Drives the Go interop program (`interop/go/bin/interop`, built by `interop/run.sh build`):
 * spawns it, parses its JSON lines, and lets a test wait for events without sleeping.
 *
 * The child's stdin stays open while the node runs: closing it (or this process dying) stops an
 * echo node, so no Go process outlives a crashed test.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

/** The Go program, built by `interop/run.sh build`. */
export const GO_BIN = fileURLToPath(new URL('./go/bin/interop', import.meta.url))

/** One JSON line of the Go program (see interop/README.md, "JSON lines"). */
export interface GoEvent {
  readonly event: string
  readonly [field: string]: unknown
}

/** The `ready` line every mode prints first. */
export interface GoReady extends GoEvent {
  readonly peer_id: string
  readonly peer_id_hex: string
  readonly public_key_spki_hex: string
  readonly addr: string
  readonly addrs: string[]
  readonly mtu: number
}

/** A running Go node. */
export class GoNode {
  readonly child: ChildProcessWithoutNullStreams
  /** Every JSON line so far, in order. */
  readonly events: GoEvent[] = []
  /** Lines of stderr (go-p2p's logs), for failure messages. */
  readonly stderr: string[] = []
  readonly exited: Promise<number | null>
  #waiters: (() => void)[] = []

  private constructor(args: string[]) {
    if (!existsSync(GO_BIN)) {
      throw new Error(`${GO_BIN} is missing: run \`bash interop/run.sh build\` first`)
    }
    this.child = spawn(GO_BIN, args, { stdio: ['pipe', 'pipe', 'pipe'] })
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      try {
        this.events.push(JSON.parse(line) as GoEvent)
      } catch {
        this.events.push({ event: 'unparsed', line })
      }
      this.#wake()
    })
    createInterface({ input: this.child.stderr }).on('line', (line) => {
      this.stderr.push(line)
    })
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code) => {
        this.#wake()
        resolve(code)
      })
    })
  }

  /**
   * Spawns `interop -mode <mode> <args>` and waits for its first line of kind `first` (`ready`
   * for echo and send; `key` for keyinfo).
   */
  static async start(
    mode: string,
    args: string[],
    first = 'ready',
    timeoutMs = 30_000,
  ): Promise<GoNode> {
    const node = new GoNode(['-mode', mode, ...args])
    try {
      await node.until((e) => e.some((x) => x.event === first), `the ${first} line`, timeoutMs)
    } catch (err) {
      node.kill()
      throw err
    }
    return node
  }

  /** The `ready` line. */
  get ready(): GoReady {
    return this.events.find((e) => e.event === 'ready') as GoReady
  }

  /** Events of one kind. */
  all(event: string): GoEvent[] {
    return this.events.filter((e) => e.event === event)
  }

  /**
   * Resolves once `cond(events)` holds; rejects when the process exits first (unless it holds
   * then) or after `timeoutMs`, with the last lines of output in the message.
   */
  until(cond: (events: GoEvent[]) => boolean, what: string, timeoutMs = 30_000): Promise<void> {
    return new Promise((resolve, reject) => {
      let exited = false
      void this.exited.then(() => {
        exited = true
      })
      const check = (): boolean => {
        if (cond(this.events)) {
          clearTimeout(timer)
          resolve()
          return true
        }
        if (exited || this.child.exitCode !== null) {
          clearTimeout(timer)
          reject(new Error(`Go node exited before ${what}\n${this.tail()}`))
          return true
        }
        return false
      }
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter)
        reject(new Error(`timed out waiting for ${what}\n${this.tail()}`))
      }, timeoutMs)
      const waiter = () => {
        if (check()) this.#waiters = this.#waiters.filter((w) => w !== waiter)
      }
      if (!check()) this.#waiters.push(waiter)
    })
  }

  /** Closes stdin (an echo node then shuts down cleanly) and waits for the exit code. */
  async stop(): Promise<number | null> {
    this.child.stdin.end()
    return this.exited
  }

  /** Kills the process (cleanup after a failure). */
  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL')
  }

  /** The last lines of stdout and stderr, for failure messages. */
  tail(n = 15): string {
    const out = this.events.slice(-n).map((e) => JSON.stringify(e))
    return `stdout:\n${out.join('\n')}\nstderr:\n${this.stderr.slice(-n).join('\n')}`
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w()
  }
}
