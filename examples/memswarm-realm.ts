/**
 * Three in-memory nodes: one tells, one asks, one serves. Run: `node dist/examples/memswarm-realm.js`.
 */
import { serveAsks } from 'swarmwire/core'
import { Realm } from 'swarmwire/s/memswarm'

const realm = new Realm({ loss: 0.1, seed: 42 }) // 10% of tells lost, reproducibly
const [alice, bob, carol] = [realm.newSwarm(), realm.newSwarm(), realm.newSwarm()]

// carol answers every ask with the request in upper case
const serving = serveAsks(carol, (req) =>
  new TextEncoder().encode(new TextDecoder().decode(req.payload).toUpperCase()),
)

await alice.tell(bob.addr, new TextEncoder().encode('hello bob'))
await bob.receive((msg) =>
  console.log(`bob got "${new TextDecoder().decode(msg.payload)}" from ${msg.src}`),
)

const answer = await alice.ask(carol.addr, new TextEncoder().encode('shout this'))
console.log(`carol answered "${new TextDecoder().decode(answer)}"`)

await realm.close()
await serving
