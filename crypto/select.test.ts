import { afterEach, describe, expect, it, vi } from 'vitest'

// select.ts picks the default once per module instance: re-import it for each case.
async function freshSelect() {
  vi.resetModules()
  return import('./select.js')
}

afterEach(() => {
  vi.unstubAllEnvs()
})

describe('backend selection', () => {
  it('defaults to sodium when it loads, else node', async () => {
    vi.stubEnv('SWARMWIRE_CRYPTO', '')
    const s = await freshSelect()
    const want = s.availableBackends().includes('sodium') ? 'sodium' : 'node'
    expect(s.defaultBackend().name).toBe(want)
    expect(s.defaultBackend()).toBe(s.defaultBackend())
  })

  it.each(['node', 'noble'] as const)('SWARMWIRE_CRYPTO=%s forces that backend', async (name) => {
    vi.stubEnv('SWARMWIRE_CRYPTO', name)
    const s = await freshSelect()
    expect(s.defaultBackend().name).toBe(name)
    expect(s.defaultBackend()).toBe(s.getBackend(name))
  })

  it('an unknown forced name throws a clear error, and so does an unknown getBackend name', async () => {
    vi.stubEnv('SWARMWIRE_CRYPTO', 'openssl')
    const s = await freshSelect()
    expect(() => s.defaultBackend()).toThrow(/SWARMWIRE_CRYPTO="openssl"/)
    expect(() => s.getBackend('openssl' as 'node')).toThrow(RangeError)
  })

  it('getBackend returns one object per name', async () => {
    const s = await freshSelect()
    for (const name of s.availableBackends()) expect(s.getBackend(name)).toBe(s.getBackend(name))
  })
})
