// Node 20 shim, imported before any library. js-libp2p 2.10's dependency tree
// (libp2p → @libp2p/peer-store 11 → mortice 3.3 → it-queue 1.1) calls Promise.withResolvers,
// which Node added in 22; every it-queue 1.x release does, and peer-store needs mortice ^3.2.1,
// so no version pin avoids it. It is reached only when a peer-store lock is contended (e.g.
// several streams opened at once). This installs the standard behaviour when it is missing.
if (typeof Promise.withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers() {
      let resolve
      let reject
      const promise = new this((res, rej) => {
        resolve = res
        reject = rej
      })
      return { promise, resolve, reject }
    },
  })
}
