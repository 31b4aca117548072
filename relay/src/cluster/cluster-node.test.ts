import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  type PostgresServer,
  startPostgresServer,
} from '../store/postgres/testing/postgres-server.ts'
import { startClusterMember } from './testing/cluster-member.ts'

let server: PostgresServer
let blobDir: string
beforeAll(async () => {
  server = await startPostgresServer()
  blobDir = mkdtempSync(join(tmpdir(), 'cluster-node-blobs-'))
})
afterAll(async () => {
  await server?.stop()
  if (blobDir) rmSync(blobDir, { recursive: true, force: true })
})

/** A coordinator of a cluster, in this process, with `contributors` simulated ones. */
async function member(url: string, options: { contributors?: number } = {}) {
  const relay = await startClusterMember(url, {
    blobDir,
    leaseMs: 1_000,
    renewMs: 200,
    coordinator: { welcomeCredits: 10n ** 9n },
    node: { handoffAfterMs: 300 },
  })
  for (let i = 0; i < (options.contributors ?? 0); i++)
    relay.coordinator.registerContributor(`w${i}-${relay.node.coordinatorId}`, {
      adapter: { vendor: 'sim', architecture: 'sim', device: '', description: 'simulated' },
      features: [],
      limits: {},
      kernels: ['matmul'],
      agent: 'test',
    })
  return relay
}

describe('cluster node', () => {
  it('copies bans another relay made into memory, where registering contributors are checked', async () => {
    const url = await server.createDatabase()
    const a = await member(url)
    const b = await member(url)
    try {
      a.cluster.working.addBan('peer:12D3KooWLiar', 'wrong results', Date.now())
      await a.cluster.working.flushed()
      await vi.waitFor(() => expect(b.cluster.memory.isBanned('peer:12D3KooWLiar')).toBe(true), {
        timeout: 5_000,
        interval: 100,
      })
      // A ban is a row, not a journal entry of B's: B writes nothing back.
      expect(b.cluster.working.backlog()).toBe(0)
    } finally {
      await a.stop()
      await b.stop()
    }
  })

  it('hands a job back when it has no contributors and another coordinator is alive, to one with contributors', async () => {
    const url = await server.createDatabase()
    const a = await member(url)
    let b: Awaited<ReturnType<typeof member>> | undefined
    try {
      const job = a.coordinator.submitMatmul({
        a: new Float32Array(64).fill(1),
        b: new Float32Array(64).fill(1),
        m: 8,
        k: 8,
        n: 8,
      })
      await a.coordinator.durable()
      // Alone in the cluster: nobody to hand it to, however long it waits.
      await new Promise((resolve) => setTimeout(resolve, 1_000))
      expect(a.node.stats().handedOff).toBe(0)
      expect(a.coordinator.runs(job.id)).toBe(true)
      b = await member(url, { contributors: 2 })
      const other = b
      await vi.waitFor(() => expect(other.coordinator.runs(job.id)).toBe(true), {
        timeout: 10_000,
        interval: 100,
      })
      expect(a.coordinator.runs(job.id)).toBe(false)
      expect(a.node.stats().handedOff).toBe(1)
      // Nor does it come back: A, with no contributors, waits three leases before taking a
      // lapsed job, and B renews it.
      await new Promise((resolve) => setTimeout(resolve, 1_500))
      expect(b.coordinator.runs(job.id)).toBe(true)
      expect(a.node.stats().takeovers).toBe(0)
    } finally {
      await a.stop()
      await b?.stop()
    }
  })
})
