import type { Capabilities } from '@tabswarm/protocol'
import {
  createCoordinator,
  createMemoryBlobStore,
  createSqliteStore,
  float32Output,
  matmulOperands,
} from '@tabswarm/relay'
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
    welcomeCredits: 1_000_000_000n,
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
      const { a: ta, b: tb, m: tm, k: tk, n: tn } = matmulOperands(c, grant)
      const right = matmulReference(ta, tb, tm, tk, tn)
      let output = right
      if (p.kind === 'noise') output = Float32Array.from(right, () => Math.random() * 4 - 2)
      if (p.kind === 'colluder')
        output = Float32Array.from(right, (x, i) => (i === 0 ? x + 0.5 : x))
      c.submitResult(p.peerId, grant.leaseId, [float32Output(output, [tm, tn])])
    }
  }
  return { c, store, job: await c.getJob(job.id), people, a, b, m, k, n, computed }
}

describe('coordinator with 50 contributors, 20% of them saboteurs', () => {
  for (const freivalds of [1, 0]) {
    it(`accepts no wrong result, pays no saboteur and bans every one, and completes (${freivalds ? 'Freivalds on every tile' : 'votes and credibility only'})`, async () => {
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
        expect(account.earned, `${p.kind} ${p.peerId}`).toBe(0n)
        expect(account.pending).toBe(0n)
        expect(store.isBanned(`peer:${p.peerId}`), `${p.kind} ${p.peerId} banned`).toBe(true)
        // Wallet accounts and bans use the EIP-55 form.
        expect(store.isBanned(`wallet:${getAddress(p.wallet)}`)).toBe(true)
      }
      const honestEarned = (
        await Promise.all(people.filter((p) => p.kind === 'honest').map((p) => c.account(p.wallet)))
      ).reduce((s, acc) => s + acc.earned, 0n)
      expect(honestEarned).toBe(BigInt(job.credits.spent))
      expect(store.ledgerImbalance()).toBe(0n)
      c.close()
    })
  }
})

/** A seeded uniform generator, so a run that depends on sampling is the same every time. */
function seeded(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0
    return state / 2 ** 32
  }
}

/**
 * The right tile with its first element off by 0.3·γₖ·Σⱼ(|A|·|B|)₀ⱼ: inside the row tolerance
 * Freivalds' check must allow for f32 rounding, outside the element bound of a recomputation.
 */
function subtlyWrong(a: Float32Array, b: Float32Array, m: number, k: number, n: number) {
  const { c, bound } = matmulReferenceWithBound(a, b, m, k, n)
  const gamma = (k * 2 ** -24) / (1 - k * 2 ** -24)
  let row = 0
  for (let j = 0; j < n; j++) row += bound[j]!
  const out = Float32Array.from(c)
  out[0]! += 0.3 * gamma * row
  return out
}

describe('a contributor honest long enough to be trusted, then subtly wrong', () => {
  it('is still caught by spot checks, loses what it earned and is banned with its wallet', async () => {
    const store = createSqliteStore({ path: ':memory:' })
    const blobs = createMemoryBlobStore()
    // Defaults on purpose (spot-check rate, ban threshold): they must catch it.
    const c = createCoordinator({
      store,
      blobs,
      tileSize: 4,
      welcomeCredits: 1_000_000_000n,
      random: seeded(7),
    })
    const people = ['h0', 'h1', 'h2', 'sleeper'].map((peerId, i) => ({
      peerId,
      wallet: getAddress(`0x${(0xa0 + i).toString(16).padStart(40, '0')}`),
      address: `10.5.${i}.1`,
    }))
    for (const p of people)
      c.registerContributor(p.peerId, {
        capabilities: caps,
        wallet: { address: p.wallet },
        address: p.address,
      })
    const { a, b, m, k, n } = matrices(128, 32, 128)
    const put = (x: Float32Array) => blobs.put(new Uint8Array(x.buffer)).hash
    const job = await c.submit(
      {
        kernel: 'matmul',
        inputs: {
          a: { blob: put(a), dtype: 'float32', shape: [m, k] },
          b: { blob: put(b), dtype: 'float32', shape: [k, n] },
        },
      },
      { account: 'researcher' },
    )
    let sleeperResults = 0
    const sleeperOutcomes: string[] = []
    for (let round = 0; round < 2_000; round++) {
      if ((await c.getJob(job.id)).status !== 'running') break
      for (const p of people) {
        const grant = c.lease(p.peerId)
        if (grant == null) continue
        const { a: ta, b: tb, m: tm, k: tk, n: tn } = matmulOperands(c, grant)
        const x = ta
        const y = tb
        // Thirty honest results earn it a verified record; from then on it cheats on every tile.
        const cheat = p.peerId === 'sleeper' && sleeperResults++ >= 30
        const output = cheat ? subtlyWrong(x, y, tm, tk, tn) : matmulReference(x, y, tm, tk, tn)
        const { outcome, reason } = c.submitResult(p.peerId, grant.leaseId, [
          float32Output(output, [tm, tn]),
        ])
        if (p.peerId === 'sleeper') sleeperOutcomes.push(`${outcome}${reason ? `: ${reason}` : ''}`)
      }
    }
    const view = await c.getJob(job.id)
    expect(view.status, view.error).toBe('completed')
    const sleeper = people[3]!
    // Caught by recomputation (Freivalds lets this error through), twice: then banned.
    const rejected = sleeperOutcomes.filter((o) => o.startsWith('rejected'))
    expect(rejected.length).toBe(2)
    expect(rejected[0]).toMatch(/elements outside tolerance/)
    expect(store.isBanned(`peer:${sleeper.peerId}`)).toBe(true)
    expect(store.isBanned(`wallet:${sleeper.wallet}`)).toBe(true)
    expect(c.lease(sleeper.peerId)).toBeUndefined()
    const account = await c.account(sleeper.wallet)
    expect(account.earned).toBe(0n)
    expect(account.pending).toBe(0n)
    const honestEarned = (
      await Promise.all(people.slice(0, 3).map((p) => c.account(p.wallet)))
    ).reduce((s, acc) => s + acc.earned, 0n)
    // What it was paid went back to the escrow: the job spent exactly what honest work earned.
    expect(honestEarned).toBe(BigInt(view.credits.spent))
    expect(BigInt(view.credits.spent) + BigInt(view.credits.refunded)).toBe(
      BigInt(view.credits.budget),
    )
    expect(store.ledgerImbalance()).toBe(0n)
    c.close()
  })
})
