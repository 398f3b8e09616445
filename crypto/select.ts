/**
 * Backend selection. The default is chosen once, on first use: the backend named by the
 * environment variable `SWARMWIRE_CRYPTO` (`sodium`, `node` or `noble`) when it is set,
 * otherwise `sodium` when sodium-native loads, otherwise `node`.
 */
import type { BackendName, CryptoBackend } from './backend.js'
import { nobleBackend } from './noble.js'
import { nodeBackend } from './node.js'
import { loadSodiumBackend, sodiumLoadError } from './sodium.js'

/** Every backend name, in order of preference for the default. */
export const BACKEND_NAMES: readonly BackendName[] = Object.freeze(['sodium', 'node', 'noble'])

/** The environment variable that forces the default backend. */
export const BACKEND_ENV_VAR = 'SWARMWIRE_CRYPTO'

const cache = new Map<BackendName, CryptoBackend | undefined>()
let defaultChoice: CryptoBackend | undefined

function build(name: BackendName): CryptoBackend | undefined {
  if (!cache.has(name)) {
    cache.set(
      name,
      name === 'sodium' ? loadSodiumBackend() : name === 'node' ? nodeBackend() : nobleBackend(),
    )
  }
  return cache.get(name)
}

function isBackendName(x: string): x is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(x)
}

/**
 * The backend with this name. Throws `RangeError` for an unknown name and `Error` when the
 * backend cannot run here (sodium-native missing), with the load failure as `cause`.
 * The same object is returned on every call.
 */
export function getBackend(name: BackendName): CryptoBackend {
  if (typeof name !== 'string' || !isBackendName(name)) {
    throw new RangeError(
      `unknown crypto backend ${JSON.stringify(name)}; expected one of ${BACKEND_NAMES.join(', ')}`,
    )
  }
  const backend = build(name)
  if (backend === undefined) {
    throw new Error(`crypto backend "${name}" is not available: sodium-native did not load`, {
      cause: sodiumLoadError(),
    })
  }
  return backend
}

/** The names of the backends that can run in this process, in order of preference. */
export function availableBackends(): BackendName[] {
  return BACKEND_NAMES.filter((name) => build(name) !== undefined)
}

/**
 * The default backend (see the module comment). Throws when `SWARMWIRE_CRYPTO` names an
 * unknown or unavailable backend: a forced choice never silently falls back.
 */
export function defaultBackend(): CryptoBackend {
  if (defaultChoice === undefined) {
    const forced = process.env[BACKEND_ENV_VAR]
    if (forced !== undefined && forced !== '') {
      if (!isBackendName(forced)) {
        throw new RangeError(
          `${BACKEND_ENV_VAR}=${JSON.stringify(forced)} is not a crypto backend; expected one of ${BACKEND_NAMES.join(', ')}`,
        )
      }
      defaultChoice = getBackend(forced)
    } else {
      defaultChoice = build('sodium') ?? getBackend('node')
    }
  }
  return defaultChoice
}
