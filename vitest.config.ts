import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const root = fileURLToPath(new URL('.', import.meta.url))

export default defineConfig({
  resolve: {
    // Examples import the package by name, as users do; in tests that means the sources.
    alias: [{ find: /^swarmwire\/(.*)$/, replacement: `${root}$1/index.ts` }],
  },
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**', 'bench/**', 'interop/**'],
    // Real sockets and handle checks: each file in its own process.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
})
