#!/usr/bin/env node
// Completes a package-lock.json (the repo's, or the one given as the first argument, e.g.
// bench/peers/package-lock.json) with the per-platform optional packages that this machine's
// registry mirror does not serve (it serves only the linux-x64 builds of packages such as
// @biomejs/biome or @chainsafe/libp2p-quic, whose optionalDependencies name one binary package
// per platform).
//
// Without these entries `npm ci` refuses ("Missing: @biomejs/cli-darwin-arm64@ from lock
// file"). The entries added here carry only version, os, cpu and libc, as npm itself writes
// them for a platform it will never install on; npm skips them on other platforms, so nothing
// is downloaded. Run after any `npm install` that rewrites the lock: `npm run lock:platforms`.
import { readFileSync, writeFileSync } from 'node:fs'

const LOCK = process.argv[2] ?? new URL('../package-lock.json', import.meta.url)
const lock = JSON.parse(readFileSync(LOCK, 'utf8'))
const packages = lock.packages

// "darwin-arm64", "linux-x64-musl", "win32-x64-msvc", "linux-arm-gnueabihf"... → os/cpu/libc
function platformOf(name) {
  const m =
    /-(android|darwin|freebsd|linux|openbsd|sunos|win32|aix)-(arm64|x64|ia32|arm|s390x|ppc64|riscv64|loong64)(?:-(musl|gnu|msvc|gnueabihf|musleabihf))?$/.exec(
      name,
    )
  if (!m) return undefined
  const [, os, cpu, abi] = m
  const entry = { os: [os], cpu: [cpu] }
  if (os === 'linux') entry.libc = [abi?.startsWith('musl') ? 'musl' : 'glibc']
  return entry
}

let added = 0
for (const [path, pkg] of Object.entries(packages)) {
  if (!path.startsWith('node_modules/') || !pkg.optionalDependencies) continue
  for (const [dep, range] of Object.entries(pkg.optionalDependencies)) {
    const depPath = `node_modules/${dep}`
    // A nested package (node_modules/a/node_modules/b) resolves its deps first beside itself.
    const parentDir = path.slice(0, path.lastIndexOf('node_modules/'))
    if (packages[depPath] || packages[`${path}/${depPath}`] || packages[`${parentDir}${depPath}`]) {
      continue
    }
    const platform = platformOf(dep)
    if (!platform) continue
    packages[depPath] = {
      version: range.replace(/^[\^~=]/, ''),
      ...platform,
      dev: pkg.dev,
      optional: true,
    }
    if (!pkg.dev) delete packages[depPath].dev
    added++
  }
}
// Keep npm's ordering: entries sorted by path.
lock.packages = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1)),
)
writeFileSync(LOCK, `${JSON.stringify(lock, null, 2)}\n`)
console.log(`lock-platforms: added ${added} per-platform entries`)
