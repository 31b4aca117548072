import type { Capabilities } from '@tabswarm/protocol'
import {
  createCoordinator,
  createMemoryBlobStore,
  createSqliteStore,
  float32Output,
  matmulOperands,
} from '@tabswarm/relay'
import { matmulReference } from '@tabswarm/worker-kernels'
import { getAddress } from 'viem'
import { randomMatrix } from '../../tests/support/random-matrix.ts'
import { matmulJobSpec } from './matmul-job-spec.ts'
import type { SeededRandom } from './seeded-random.ts'
import { referenceProduct, wrongTiles } from './wrong-tiles.ts'

const CAPABILITIES: Capabilities = {
  adapter: { vendor: 'sim', architecture: 'sim', device: '', description: 'simulated' },
  features: [],
  limits: {},
  kernels: ['matmul'],
  agent: 'bench/reliability sybil',
}

export interface SybilOutcome {
  tasks: number
  accepted: number
  wrongAccepted: number
  /** Earned, pending and spendable credit of every Sybil wallet and peer id, summed. */
  sybilCredits: number
  /** Whether the operator's one network address ended up banned. */
  addressBanned: boolean
  ledgerImbalance: number
}

/**
 * Sybil: one operator behind one network address with many peer ids, each with its own
 * wallet, all returning the same wrong tile, against honest contributors on distinct
 * addresses, on a job checked by votes only (no Freivalds) so that only replica
 * distinctness, spot checks and credibility stand in the way.
 *
 * Why the coordinator's API and not the wire: the work service derives a contributor's
 * address from its connection (`remoteHost` in relay/src/swarm/work-service.ts) and treats
 * every 127.0.0.0/8 address as loopback, "the operator's own workers", recording none; so
 * over loopback every peer is address-less, a 127.x alias included, and the address rule
 * cannot be reached. Aliasing a non-loopback address on `lo` needs root and is not portable
 * to CI. The coordinator takes the address in `registerContributor` exactly as the work
 * service passes it, so injecting it there tests the same rule.
 */
export async function runSybilCase(options: {
  random: SeededRandom
  sybils: number
  honest: number
  shape: { m: number; k: number; n: number }
}): Promise<SybilOutcome> {
  const { random, shape } = options
  const store = createSqliteStore({ path: ':memory:' })
  const blobs = createMemoryBlobStore()
  const c = createCoordinator({
    store,
    blobs,
    tileSize: 8,
    welcomeCredits: 10n ** 12n,
    random: () => random.next(),
  })
  try {
    const people = [
      ...Array.from({ length: options.sybils }, (_, i) => ({
        peerId: `sybil-${i}`,
        sybil: true,
        wallet: getAddress(`0x${(0x5b000 + i).toString(16).padStart(40, '0')}`),
        address: '10.66.0.1',
      })),
      ...Array.from({ length: options.honest }, (_, i) => ({
        peerId: `honest-${i}`,
        sybil: false,
        wallet: getAddress(`0x${(0xa0000 + i).toString(16).padStart(40, '0')}`),
        address: `10.77.${i}.1`,
      })),
    ]
    for (const p of people)
      c.registerContributor(p.peerId, {
        capabilities: CAPABILITIES,
        wallet: { address: p.wallet },
        address: p.address,
      })
    const { m, k, n } = shape
    const a = randomMatrix(m, k, random.int(2 ** 31))
    const b = randomMatrix(k, n, random.int(2 ** 31))
    const put = (x: Float32Array) => blobs.put(new Uint8Array(x.buffer)).hash
    const job = await c.submit(
      matmulJobSpec({ a: put(a), b: put(b) }, shape, {
        verification: { freivalds: 0, canaries: 0 },
        budget: 1e10,
      }),
      { account: 'researcher' },
    )
    // Sybils ask first in every round: the best case for them to fill a vote.
    for (let round = 0; round < 2_000; round++) {
      if ((await c.getJob(job.id)).status !== 'running') break
      for (const p of people) {
        const grant = c.lease(p.peerId)
        if (grant == null) continue
        const { a: ta, b: tb, m: tm, k: tk, n: tn } = matmulOperands(c, grant)
        const right = matmulReference(ta, tb, tm, tk, tn)
        const output = p.sybil
          ? Float32Array.from(right, (x, i) => (i === 0 ? x + 0.25 : x))
          : right
        c.submitResult(p.peerId, grant.leaseId, [float32Output(output, [tm, tn])])
      }
    }
    await c.durable()
    const view = await c.getJob(job.id)
    const wrong =
      view.status === 'completed'
        ? wrongTiles(await c.jobOutput(job.id), referenceProduct(a, b, m, k, n), 8).length
        : 0
    let sybilCredits = 0n
    for (const p of people.filter((x) => x.sybil)) {
      for (const account of [p.wallet, `peer:${p.peerId}`]) {
        const view = await c.account(account)
        sybilCredits += view.earned + view.pending + view.balance
      }
    }
    return {
      tasks: view.tasks.total,
      accepted: view.tasks.accepted,
      wrongAccepted: wrong,
      sybilCredits: Number(sybilCredits),
      addressBanned: store.isBanned('address:10.66.0.1'),
      ledgerImbalance: Number(store.ledgerImbalance()),
    }
  } finally {
    c.close()
  }
}
