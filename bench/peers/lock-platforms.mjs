#!/usr/bin/env node
// Completes bench/peers/package-lock.json with the per-platform optional packages that this
// machine's registry mirror does not serve (it serves only the linux-x64 builds of packages such
// as @chainsafe/libp2p-quic, whose optionalDependencies name one native binary package per
// platform). Adapted from scripts/lock-platforms.mjs, which does the same for the root lock.
//
// Without these entries `npm ci --prefix bench/peers` refuses ("Missing:
// @chainsafe/libp2p-quic-darwin-arm64@ from lock file"). The entries added here carry only
// version, os, cpu and libc, as npm itself writes them for a platform it will never install on;
// npm skips them on other platforms, so nothing is downloaded. Run after any `npm install` in
// bench/peers that rewrites the lock: `npm run lock:platforms --prefix bench/peers`.
import { readFileSync, writeFileSync } from 'node:fs'

const LOCK = new URL('./package-lock.json', import.meta.url)
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
  // A nested package (node_modules/a/node_modules/b) resolves its deps first beside itself.
  const parentDir = path.slice(0, path.lastIndexOf('node_modules/'))
  for (const [dep, range] of Object.entries(pkg.optionalDependencies)) {
    const depPath = `node_modules/${dep}`
    if (packages[depPath] || packages[`${path}/${depPath}`] || packages[`${parentDir}${depPath}`])
      continue
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
