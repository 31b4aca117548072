import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import {
  createCoordinator,
  createDiskBlobStore,
  createSqliteStore,
  createTieredBlobStore,
} from '@tabswarm/relay'
import { matmulReference } from '@tabswarm/worker-kernels'
import { afterEach, describe, expect, it } from 'vitest'

const CHILD = fileURLToPath(new URL('./coordinator-crash-child.ts', import.meta.url))

type ChildEvent = { type: string; [key: string]: unknown }

/** Starts the child and calls `onEvent` per stdout line until it exits or is killed. */
function startChild(args: string[], onEvent: (event: ChildEvent, child: ChildProcess) => void) {
  const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line.startsWith('{')) onEvent(JSON.parse(line) as ChildEvent, child)
  })
  // `close`, not `exit`: every line the child printed before it died has been read then.
  const exited = new Promise<{
    code: number | null
    signal: NodeJS.Signals | null
    stderr: string
  }>((resolve) => child.once('close', (code, signal) => resolve({ code, signal, stderr })))
  return { child, exited }
}

const a = (m: number, k: number) =>
  Float32Array.from({ length: m * k }, (_, i) => ((i * 7) % 13) - 6)
const b = (k: number, n: number) =>
  Float32Array.from({ length: k * n }, (_, i) => ((i * 5) % 11) - 5)

/**
 * Runs the child until `killAfter` results were acknowledged as accepted (durable), SIGKILLs
 * it, and runs it again to the end. Returns what the second run said and how many accepted
 * results the first one acknowledged in all (the kill lands while it goes on).
 */
async function crashAndResume(args: string[], killAfter: number) {
  let acknowledged = 0
  const first = startChild(args, (event, child) => {
    if (event.type !== 'accepted' || event.outcome !== 'accepted') return
    if (++acknowledged === killAfter) child.kill('SIGKILL')
  })
  const killed = await first.exited
  expect(killed.signal, killed.stderr).toBe('SIGKILL')
  let ready: ChildEvent | undefined
  let done: ChildEvent | undefined
  const second = startChild(args, (event) => {
    if (event.type === 'ready') ready = event
    if (event.type === 'done') done = event
  })
  const finished = await second.exited
  expect(finished.code, finished.stderr).toBe(0)
  return { acknowledged, ready: ready!, done: done! }
}

function reopen(dir: string) {
  const store = createSqliteStore({ path: join(dir, 'coordinator.db') })
  const c = createCoordinator({
    store,
    blobs: createTieredBlobStore({
      store,
      large: createDiskBlobStore({ dir: join(dir, 'blobs') }),
    }),
  })
  return { store, c }
}

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

describe('coordinator crash recovery', () => {
  for (const votes of [false, true]) {
    it(`completes a job SIGKILLed mid-way with exactly the right results and ledger (${votes ? 'votes, with a saboteur faulted all along' : 'Freivalds'})`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'coordinator-crash-'))
      dirs.push(dir)
      const [m, k, n, tile] = [48, 8, 48, 4]
      const args = [
        dir,
        String(m),
        String(k),
        String(n),
        String(tile),
        ...(votes ? ['--votes'] : []),
      ]
      const { acknowledged, ready, done } = await crashAndResume(args, votes ? 30 : 50)

      // Every result acknowledged as accepted survived the kill; at most the one in flight
      // (committed, not yet acknowledged) is there beside them.
      expect(ready.accepted).toBeGreaterThanOrEqual(acknowledged)
      expect(ready.accepted).toBeLessThanOrEqual(acknowledged + 1)
      // The result sent just before the kill is either accepted once or refused as stale.
      expect(['accepted', 'stale']).toContain(ready.resent)
      expect(done.status).toBe('completed')

      const { store, c } = reopen(dir)
      try {
        const { jobs } = await c.listJobs()
        const job = jobs[0]!
        const tasks = (m / tile) * (n / tile)
        expect(job.tasks).toMatchObject({ total: tasks, accepted: tasks })
        expect(await c.jobOutput(job.id)).toEqual(matmulReference(a(m, k), b(k, n), m, k, n))
        const results = await c.results(job.id, { limit: 1000 })
        expect(results.results).toHaveLength(tasks)
        expect(new Set(results.results.map((r) => r.index)).size).toBe(tasks)
        // Each tile paid exactly what the policy pays (Freivalds: one result; a vote: the two
        // agreeing ones), never twice: the escrow is spent to the credit.
        expect(job.credits.spent).toBe(job.credits.budget)
        const earned = (
          await Promise.all(['w0', 'w1', 'w2', 'w3'].map((w) => c.account(`peer:${w}`)))
        ).reduce((sum, acc) => sum + acc.earned, 0n)
        expect(earned).toBe(BigInt(job.credits.spent))
        const saboteur = await c.account('peer:s0')
        expect(saboteur.earned + saboteur.pending + saboteur.balance).toBe(0n)
        if (votes) expect(job.tasks.rejectedResults).toBeGreaterThan(0)
        expect((await c.account('researcher')).balance).toBe(
          1_000_000_000n - BigInt(job.credits.spent),
        )
        expect(BigInt(job.credits.refunded)).toBe(
          BigInt(job.credits.budget) - BigInt(job.credits.spent),
        )
        expect(store.ledgerImbalance()).toBe(0n)
      } finally {
        c.close()
      }
    }, 60_000)
  }
})
