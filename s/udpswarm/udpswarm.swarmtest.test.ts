import { describe, it } from 'vitest'
import { runSwarmTests } from '../../swarmtest/index.js'
import { UDPSwarm } from './index.js'

/** Whether this host can bind ::1; the IPv6 runs are left out (and say why) if it cannot. */
async function canBindV6(): Promise<boolean> {
  try {
    await (await UDPSwarm.bind('[::1]:0')).close()
    return true
  } catch {
    return false
  }
}

function bindMany(addr: string) {
  return (n: number) => Promise.all(Array.from({ length: n }, () => UDPSwarm.bind(addr)))
}

// Loopback UDP does not drop, duplicate or reorder at these volumes: the strict suite applies.
runSwarmTests({ describe, it }, 'udpswarm, IPv4 loopback', { make: bindMany('127.0.0.1:0') })
// A wildcard bind: localAddrs() lists every interface; the suite tells to the first one.
runSwarmTests({ describe, it }, 'udpswarm, 0.0.0.0 wildcard', { make: bindMany('0.0.0.0:0') })

if (await canBindV6()) {
  runSwarmTests({ describe, it }, 'udpswarm, IPv6 loopback', { make: bindMany('[::1]:0') })
  runSwarmTests({ describe, it }, 'udpswarm, [::] dual-stack wildcard', {
    make: bindMany('[::]:0'),
  })
} else {
  describe('swarmtest: udpswarm over IPv6', () => {
    it.skip('skipped: IPv6 loopback (::1) cannot be bound on this host', () => {})
  })
}
