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
  agent: 'bench/reliability sleeper',
}
const TILE = 4

export interface SleeperOutcome {
  /** Results of the sleeper verified right (Freivalds, recomputation) before it turned. */
  record: number
  tasks: number
  accepted: number
  wrongAccepted: number
  sleeperCredits: number
  banned: boolean
  /** Results of the voted job accepted on one contributor's credibility alone (`trusted`). */
  acceptedOnCredibility: number
}

/**
 * A sleeper: one contributor earns a long verified record on a Freivalds-checked job, then
 * returns a wrong tile every time on a job checked by votes only (`freivalds: 0`), beside
 * three honest contributors. Coordinator API, in process: the rules are the coordinator's.
 */
export async function runSleeperCase(options: {
  random: SeededRandom
  /** Tiles of the record-building job, all computed right by the sleeper. */
  recordTiles: number
  /** Tiles of the votes-only job it then sabotages. */
  votedTiles: number
}): Promise<SleeperOutcome> {
  const { random } = options
  const store = createSqliteStore({ path: ':memory:' })
  const blobs = createMemoryBlobStore()
  const c = createCoordinator({
    store,
    blobs,
    tileSize: TILE,
    welcomeCredits: 10n ** 12n,
    random: () => random.next(),
  })
  try {
    const people = ['sleeper', 'h0', 'h1', 'h2'].map((peerId, i) => ({
      peerId,
      wallet: getAddress(`0x${(0xc0000 + i).toString(16).padStart(40, '0')}`),
      address: `10.88.${i}.1`,
    }))
    for (const p of people)
      c.registerContributor(p.peerId, {
        capabilities: CAPABILITIES,
        wallet: { address: p.wallet },
        address: p.address,
      })
    const put = (x: Float32Array) => blobs.put(new Uint8Array(x.buffer)).hash
    const submit = async (tiles: number, verification: { freivalds?: number }) => {
      const side = Math.round(Math.sqrt(tiles)) * TILE
      const k = 16
      const a = randomMatrix(side, k, random.int(2 ** 31))
      const b = randomMatrix(k, side, random.int(2 ** 31))
      const job = await c.submit(
        matmulJobSpec(
          { a: put(a), b: put(b) },
          { m: side, k, n: side },
          { verification: { ...verification, canaries: 0 }, budget: 1e11 },
        ),
        { account: 'researcher' },
      )
      return { job, a, b, side, k }
    }
    const run = async (
      jobId: string,
      who: typeof people,
      answer: (peerId: string, right: Float32Array) => Float32Array,
    ) => {
      for (let round = 0; round < 100_000; round++) {
        if ((await c.getJob(jobId)).status !== 'running') return
        for (const p of who) {
          const grant = c.lease(p.peerId)
          if (grant == null) continue
          const { a: ta, b: tb, m, k, n } = matmulOperands(c, grant)
          const right = matmulReference(ta, tb, m, k, n)
          c.submitResult(p.peerId, grant.leaseId, [float32Output(answer(p.peerId, right), [m, n])])
        }
      }
    }
    // The record: the sleeper alone, honest, on a job Freivalds checks tile by tile.
    const first = await submit(options.recordTiles, {})
    await run(first.job.id, people.slice(0, 1), (_, right) => right)
    const firstView = await c.getJob(first.job.id)
    const record = firstView.tasks.accepted
    // Then it turns, on a job that votes.
    const second = await submit(options.votedTiles, { freivalds: 0 })
    await run(second.job.id, people, (peerId, right) =>
      peerId === 'sleeper' ? Float32Array.from(right, (x, i) => (i === 0 ? x + 0.5 : x)) : right,
    )
    await c.durable()
    const view = await c.getJob(second.job.id)
    const { a, b, side, k } = second
    const wrong =
      view.status === 'completed'
        ? wrongTiles(await c.jobOutput(view.id), referenceProduct(a, b, side, k, side), TILE).length
        : 0
    const account = await c.account(people[0]!.wallet)
    let acceptedOnCredibility = 0
    for (let after = 0, page = 0; page < 1_000; page++) {
      const { results, cursor } = await c.results(view.id, { after, limit: 1000 })
      acceptedOnCredibility += results.filter((r) => r.method === 'trusted').length
      if (results.length === 0) break
      after = cursor
    }
    return {
      record,
      tasks: view.tasks.total,
      accepted: view.tasks.accepted,
      wrongAccepted: wrong,
      // What it earned beyond its honest record job (which it did alone, and was paid for).
      sleeperCredits: Number(account.earned + account.pending - BigInt(firstView.credits.spent)),
      banned: store.isBanned('peer:sleeper'),
      acceptedOnCredibility,
    }
  } finally {
    c.close()
  }
}
