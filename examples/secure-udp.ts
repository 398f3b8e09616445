/**
 * Two nodes on the secure UDP stack (udp → p2pke → ask): authenticated, encrypted datagrams and
 * reliable asks. Run: `node dist/examples/secure-udp.js`.
 */
import { serveAsks } from 'swarmwire/core'
import { generateKey, secureUDPStack } from 'swarmwire/stack'

const alice = await secureUDPStack('127.0.0.1:0', { privateKey: generateKey() })
const bob = await secureUDPStack('127.0.0.1:0') // a fresh key when none is given

// bob answers asks, and knows who is asking: the key was proven in the handshake
const serving = serveAsks(bob, async (req) => {
  const key = await bob.lookupPublicKey(req.src)
  console.log(`bob: ask from ${req.src} (key of ${key.data.length} bytes)`)
  return new TextEncoder().encode(`hello, ${new TextDecoder().decode(req.payload)}`)
})

const bobAddr = alice.parseAddr(String(bob.localAddrs()[0])) // as if read from a config file
const answer = await alice.ask(bobAddr, new TextEncoder().encode('alice'))
console.log(`alice: ${new TextDecoder().decode(answer)}`)

await alice.tell(bobAddr, new TextEncoder().encode('a datagram, sealed'))
await bob.receive((msg) => console.log(`bob: tell of ${msg.payload.length} bytes from ${msg.src}`))

await Promise.all([alice.close(), bob.close()])
await serving
