/** Closing a dgram socket completely. */
import type dgram from 'node:dgram'

/** Closes a socket and resolves once its handle is gone (never rejects). */
export function closeSocket(socket: dgram.Socket): Promise<void> {
  return new Promise<void>((resolve) => {
    // The fd (and the port) is released inside close(). libuv forgets the handle in the close
    // phase of a loop iteration, which follows its check phase: the first setImmediate runs in
    // a check phase after close() was called, so by the second one the handle is gone and
    // process.getActiveResourcesInfo() no longer lists its UDPWrap.
    const done = () => setImmediate(() => setImmediate(resolve))
    try {
      socket.close(done)
    } catch {
      done()
    }
  })
}
