/**
 * The TypeScript side of the go-p2p interop check: `npx vitest run --config interop/vitest.config.ts`
 * (run by `interop/run.sh` after it builds the Go program). The root config excludes interop/.
 */
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const root = fileURLToPath(new URL('..', import.meta.url))

export default defineConfig({
  root,
  test: {
    include: ['interop/**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**', 'interop/go/**'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
})
