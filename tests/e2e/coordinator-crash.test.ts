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
  const exited = new Promise<{
    code: number | null
    signal: NodeJS.Signals | null
    stderr: string
  }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, stderr })))
  return { child, exited }
}

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

describe('coordinator crash recovery', () => {
  it('completes a job SIGKILLed mid-way with exactly the right results and ledger', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coordinator-crash-'))
    dirs.push(dir)
    const [m, k, n, tile] = [48, 8, 48, 4]
    const args = [dir, String(m), String(k), String(n), String(tile)]

    let accepted = 0
    const first = startChild(args, (event, child) => {
      if (event.type === 'accepted' && ++accepted === 50) child.kill('SIGKILL')
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
    expect(ready?.accepted).toBeGreaterThanOrEqual(49)
    // The result sent just before the kill is either accepted once or refused as stale.
    expect(['accepted', 'stale']).toContain(ready?.resent)
    expect(done?.status).toBe('completed')

    const store = createSqliteStore({ path: join(dir, 'coordinator.db') })
    const c = createCoordinator({
      store,
      blobs: createTieredBlobStore({
        store,
        large: createDiskBlobStore({ dir: join(dir, 'blobs') }),
      }),
    })
    try {
      const { jobs } = await c.listJobs()
      const job = jobs[0]!
      const tasks = (m / tile) * (n / tile)
      expect(job.tasks).toMatchObject({ total: tasks, accepted: tasks })
      const a = Float32Array.from({ length: m * k }, (_, i) => ((i * 7) % 13) - 6)
      const b = Float32Array.from({ length: k * n }, (_, i) => ((i * 5) % 11) - 5)
      expect(await c.jobOutput(job.id)).toEqual(matmulReference(a, b, m, k, n))
      const results = await c.results(job.id, { limit: 1000 })
      expect(results.results).toHaveLength(tasks)
      expect(new Set(results.results.map((r) => r.index)).size).toBe(tasks)
      // Each tile paid exactly once: the escrow (one tile's price per tile) is spent to the credit.
      expect(job.credits.spent).toBe(job.credits.budget)
      const earned = (
        await Promise.all(['w0', 'w1', 'w2', 'w3'].map((w) => c.account(`peer:${w}`)))
      ).reduce((s, acc) => s + acc.earned, 0)
      expect(earned).toBe(job.credits.spent)
      expect((await c.account('researcher')).balance).toBe(1e9 - job.credits.spent)
      expect(job.credits.refunded).toBe(job.credits.budget - job.credits.spent)
    } finally {
      c.close()
    }
  }, 60_000)
})
