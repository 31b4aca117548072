import { createCoordinator, createMemoryBlobStore, createSqliteStore } from '@tabswarm/relay'
import type { Capabilities } from '@tabswarm/relay/protocol'
import { compareMatmul, matmulReference, matmulReferenceWithBound } from '@tabswarm/worker-kernels'
import { getAddress } from 'viem'
import { describe, expect, it } from 'vitest'

/**
 * 50 simulated contributors against the real coordinator (SQLite store, Freivalds, votes,
 * credibility, ledger): 40 honest, 5 returning random noise, 5 colluding on one wrong
 * answer. Each has its own peer id, wallet and network address.
 */

const caps: Capabilities = {
  adapter: { vendor: 'sim', architecture: 'sim', device: '', description: 'simulated' },
  features: [],
  limits: {},
  kernels: ['matmul'],
  agent: 'coordinator-saboteurs test',
}

type Kind = 'honest' | 'noise' | 'colluder'

function population() {
  return Array.from({ length: 50 }, (_, i) => {
    const kind: Kind = i % 10 === 3 ? 'noise' : i % 10 === 7 ? 'colluder' : 'honest'
    const hex = (i + 1).toString(16).padStart(40, '0')
    return { peerId: `sim-${i}`, kind, wallet: `0x${hex}`, address: `10.1.${i}.1` }
  })
}

function matrices(m: number, k: number, n: number) {
  const a = Float32Array.from({ length: m * k }, (_, i) => Math.sin(i * 0.37))
  const b = Float32Array.from({ length: k * n }, (_, i) => Math.cos(i * 0.11))
  return { a, b, m, k, n }
}

async function run(verification: { freivalds: number; maxErrorRate?: number }) {
  const store = createSqliteStore({ path: ':memory:' })
  const blobs = createMemoryBlobStore()
  const c = createCoordinator({
    store,
    blobs,
    tileSize: 8,
    welcomeCredits: 1e9,
    banAfterFaults: 2,
    maxTaskFailures: 50,
    maxReplicas: 16,
  })
  const people = population()
  for (const p of people)
    c.registerContributor(p.peerId, {
      capabilities: caps,
      wallet: { address: p.wallet },
      address: p.address,
    })
  const { a, b, m, k, n } = matrices(160, 16, 160)
  const put = (x: Float32Array) => blobs.put(new Uint8Array(x.buffer)).hash
  const job = await c.submit(
    {
      kernel: 'matmul',
      inputs: {
        a: { blob: put(a), dtype: 'float32', shape: [m, k] },
        b: { blob: put(b), dtype: 'float32', shape: [k, n] },
      },
      verification,
      // Votes among newcomers pay every agreeing replica: give them room.
      budget: 10_000_000,
    },
    { account: 'researcher' },
  )
  let computed = 0
  for (let round = 0; round < 500; round++) {
    const view = await c.getJob(job.id)
    if (view.status !== 'running') break
    for (const p of people) {
      const grant = c.lease(p.peerId)
      if (grant == null) continue
      computed++
      const [ta, tb] = grant.inputs
      const { m: tm, k: tk, n: tn } = grant.args!
      const right = matmulReference(ta!.data as Float32Array, tb!.data as Float32Array, tm, tk, tn)
      let output = right
      if (p.kind === 'noise') output = Float32Array.from(right, () => Math.random() * 4 - 2)
      if (p.kind === 'colluder')
        output = Float32Array.from(right, (x, i) => (i === 0 ? x + 0.5 : x))
      c.submitResult(p.peerId, grant.leaseId, output, [tm, tn])
    }
  }
  return { c, store, job: await c.getJob(job.id), people, a, b, m, k, n, computed }
}

describe('coordinator with 50 contributors, 20% of them saboteurs', () => {
  for (const freivalds of [1, 0]) {
    it(`accepts no wrong result, pays and bans no saboteur, and completes (${freivalds ? 'Freivalds on every tile' : 'votes and credibility only'})`, async () => {
      // Votes alone: credibility-based acceptance, the policy that holds against colluders.
      const { c, store, job, people, a, b, m, k, n } = await run(
        freivalds ? { freivalds } : { freivalds, maxErrorRate: 1e-4 },
      )
      expect(job.status, job.error).toBe('completed')
      const output = await c.jobOutput(job.id)
      const { c: expected, bound } = matmulReferenceWithBound(a, b, m, k, n)
      expect(compareMatmul(output, expected, { k, bound }).ok).toBe(true)
      for (const p of people) {
        const account = await c.account(p.wallet)
        if (p.kind === 'honest') continue
        expect(account.earned, `${p.kind} ${p.peerId}`).toBe(0)
        expect(account.pending).toBe(0)
        expect(store.isBanned(`peer:${p.peerId}`), `${p.kind} ${p.peerId} banned`).toBe(true)
        // Wallet accounts and bans use the EIP-55 form.
        expect(store.isBanned(`wallet:${getAddress(p.wallet)}`)).toBe(true)
      }
      const honestEarned = (
        await Promise.all(people.filter((p) => p.kind === 'honest').map((p) => c.account(p.wallet)))
      ).reduce((s, acc) => s + acc.earned, 0)
      expect(honestEarned).toBe(job.credits.spent)
      expect(store.ledgerImbalance()).toBe(0)
      c.close()
    })
  }
})
