/**
 * The UDP stack: real datagrams (udpswarm), messages larger than a datagram (fragswarm), and
 * named channels over one socket (p2pmux). Run: `node dist/examples/udp-frag-mux.js`.
 */
import { newFragSwarm } from 'swarmwire/s/fragswarm'
import { UDPSwarm } from 'swarmwire/s/udpswarm'
import { newStringMux } from 'swarmwire/p/p2pmux'

async function node() {
  const udp = await UDPSwarm.bind('127.0.0.1:0') // an ephemeral port on loopback
  const frag = newFragSwarm(udp, { mtu: 64 * 1024 }) // 64 KiB messages in ≤ 1232-byte datagrams
  const mux = newStringMux(frag) // channels named by strings
  return { mux, chat: mux.open('chat'), files: mux.open('files') }
}

const alice = await node()
const bob = await node()
const bobAddr = bob.chat.localAddrs()[0]!

await alice.chat.tell(bobAddr, new TextEncoder().encode('hi bob'))
await alice.files.tell(bobAddr, new Uint8Array(50_000).fill(7)) // ~41 datagrams, reassembled

await bob.chat.receive((m) =>
  console.log(`chat from ${m.src}: ${new TextDecoder().decode(m.payload)}`),
)
await bob.files.receive((m) => console.log(`file from ${m.src}: ${m.payload.length} bytes`))

await alice.mux.close() // closes every channel, the fragswarm and the socket
await bob.mux.close()
