import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient, encodeNpy, type JobView, parseNpy, type TabswarmClient } from '@tabswarm/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startWorkerProcess, type WorkerProcess } from '../support/headless-worker-process.ts'
import { productMismatch } from '../support/product-check.ts'
import { randomMatrix } from '../support/random-matrix.ts'
import { runCli } from '../support/run-cli.ts'
import { spinJob } from '../support/spin-job.ts'
import { CLI, startTabswarmProcess, type TabswarmProcess } from '../support/tabswarm-process.ts'

/** numpy's float64 `.npy` (its default dtype) of a C-order matrix. */
function float64Npy(rows: number, cols: number, values: Float64Array): Uint8Array {
  const dict = `{'descr': '<f8', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`
  const header = `${dict}${' '.repeat(128 - 10 - dict.length - 1)}\n`
  const out = new Uint8Array(128 + values.length * 8)
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length, 0])
  out.set(new TextEncoder().encode(header), 10)
  new Float64Array(out.buffer, 128).set(values)
  return out
}

/** A CLI command as a child process, its stderr read as it comes. */
function spawnCli(args: string[]): {
  child: ChildProcess
  stderr: () => string
  exited: Promise<number | null>
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>
} {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  const waiters = new Set<() => void>()
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
    for (const wake of waiters) wake()
  })
  child.stdout!.resume()
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve))
  return {
    child,
    stderr: () => stderr,
    exited,
    waitFor: (pattern, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(stderr)
          if (match == null) return
          clearTimeout(timer)
          waiters.delete(check)
          resolve(match)
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`no ${pattern} on stderr in ${timeoutMs} ms:\n${stderr}`))
        }, timeoutMs)
        waiters.add(check)
        check()
      }),
  }
}

/**
 * The researcher's CLI against a real relay: what a job waits for, named as it waits;
 * what Ctrl-C and --timeout cancelled and refunded; job ids by prefix and in detail;
 * float64 inputs; the worker's start line and its peer id kept across runs. One relay for
 * the file; a headless worker joins for the part that needs one.
 */
describe('the tabswarm CLI tells the researcher what is going on', () => {
  let system: TabswarmProcess
  let client: TabswarmClient
  let dir: string
  const path = (name: string) => join(dir, name)
  const relay = () => ['--relay', system.url]
  const [m, k, n] = [48, 40, 32]
  const a = randomMatrix(m, k, 71)
  const b = randomMatrix(k, n, 72)

  beforeAll(async () => {
    system = await startTabswarmProcess()
    client = createClient({ relay: system.url })
    dir = await mkdtemp(join(tmpdir(), 'tabswarm-cli-researcher-'))
    await writeFile(path('a.npy'), encodeNpy({ dtype: 'float32', shape: [m, k], data: a }))
    await writeFile(path('b.npy'), encodeNpy({ dtype: 'float32', shape: [k, n], data: b }))
    await writeFile(path('a64.npy'), float64Npy(m, k, Float64Array.from(a)))
    await writeFile(path('b64.npy'), float64Npy(k, n, Float64Array.from(b)))
  })
  afterAll(async () => {
    await system?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  const matmulArgs = (x = 'a.npy', y = 'b.npy') => [
    'matmul',
    path(x),
    path(y),
    '-o',
    path('c.npy'),
    ...relay(),
  ]

  describe('with no contributor online', () => {
    it('matmul names the wait on a plain line every 5 s; --timeout cancels and says what was refunded', async () => {
      const result = await runCli([...matmulArgs(), '--timeout', '11'], { timeoutMs: 60_000 })
      expect(result.code, result.stderr).toBe(1)
      const waits = result.stderr
        .split('\n')
        .filter((line) => /^job \S+: 0\/1 tiles verified; no contributors online/.test(line))
      // At once, then every 5 s until the 11 s timeout.
      expect(waits.length, result.stderr).toBeGreaterThanOrEqual(2)
      expect(result.stderr).toMatch(/^job \S+: 1 tile, \d+ credits? escrowed$/m)
      const [, , budget, refunded] =
        /tabswarm: error: timed out \(--timeout\); cancelled job (\S+): (\d+) of (\d+) credits? refunded \(0 spent\)/.exec(
          result.stderr,
        ) ?? []
      expect(refunded).toBeDefined()
      expect(budget).toBe(refunded)
    })

    it('Ctrl-C cancels the job, says what was refunded, and exits 130', async () => {
      const run = spawnCli(matmulArgs())
      const [, id] = await run.waitFor(/^job (\S+): 0\/1 tiles verified; no contributors online/m)
      run.child.kill('SIGINT')
      expect(await run.exited, run.stderr()).toBe(130)
      const job = await client.getJob(id!)
      expect(job.status).toBe('cancelled')
      const credits = job.credits.budget === '1' ? 'credit' : 'credits'
      expect(run.stderr()).toContain(
        `tabswarm: interrupted; cancelled job ${id}: ${job.credits.refunded} of ${job.credits.budget} ${credits} refunded (0 spent)\n`,
      )
      expect(job.credits.refunded).toBe(job.credits.budget)
    })

    it('job --json carries what a running job waits for', async () => {
      const job = await client.submit(await spinJob(client, { ms: 10 }))
      try {
        const shown = await runCli(['job', job.id, '--json', ...relay()])
        expect(shown.code, shown.stderr).toBe(0)
        expect((JSON.parse(shown.stdout) as JobView).waiting).toMatchObject({
          reason: 'no-contributors',
          contributorsOnline: 0,
          tasks: 1,
        })
        const human = await runCli(['job', job.id, ...relay()])
        expect(human.stdout).toMatch(/^waiting for: +no contributors online/m)
      } finally {
        await job.cancel()
      }
    })
  })

  describe('job ids', () => {
    /** Jobs of this account until two share a first character (17 at most: 16 hex digits). */
    let ids: string[]
    beforeAll(async () => {
      ids = (await client.listJobs({ limit: 100 })).map((j) => j.id)
      const spec = await spinJob(client, { ms: 10 })
      while (new Set(ids.map((id) => id[0])).size === ids.length) {
        const job = await client.submit(spec)
        await job.cancel()
        ids.push(job.id)
      }
    })

    it('a unique prefix shows the job in detail', async () => {
      const id = ids.at(-1)!
      // The shortest prefix no other job shares, as git abbreviates.
      let prefix = id.slice(0, 1)
      while (ids.some((other) => other !== id && other.startsWith(prefix)))
        prefix = id.slice(0, prefix.length + 1)
      const shown = await runCli(['job', prefix, ...relay()])
      // Cancelled: exit 1.
      expect(shown.code, shown.stderr).toBe(1)
      expect(shown.stdout).toMatch(new RegExp(`^job ${id} {2}cancelled`))
      for (const label of ['kernel', 'tasks', 'verification', 'credits', 'timings', 'throughput'])
        expect(shown.stdout).toMatch(new RegExp(`^${label}: `, 'm'))
      expect(shown.stdout).toMatch(/^tasks: +0 of 1 task accepted; /m)
      expect(shown.stdout).toMatch(/^credits: +(\d+) credits? escrowed, 0 spent, \1 refunded$/m)
    })

    it('an ambiguous prefix and one of no job exit 2, saying which', async () => {
      const first = [...ids].map((id) => id[0]!).find((c, i, all) => all.indexOf(c) !== i)!
      const sharing = ids.filter((id) => id.startsWith(first))
      const ambiguous = await runCli(['job', first, ...relay()])
      expect(ambiguous.code).toBe(2)
      expect(ambiguous.stderr).toMatch(new RegExp(`^tabswarm: error: ambiguous: ${first} matches `))
      for (const id of sharing.slice(0, 5)) expect(ambiguous.stderr).toContain(id)
      const none = await runCli(['cancel', 'zz', ...relay()])
      expect(none.code).toBe(2)
      expect(none.stderr).toBe('tabswarm: error: no job starting with zz\n')
    })

    it('cancel of a job that already ended exits 1: nothing to cancel', async () => {
      const id = ids.at(-1)!
      const cancel = await runCli(['cancel', id.slice(0, 13), ...relay()])
      expect(cancel.code).toBe(1)
      expect(cancel.stderr).toBe(`tabswarm: job ${id} already cancelled; nothing to cancel\n`)
    })
  })

  describe('with one headless worker', () => {
    let worker: WorkerProcess
    const walletFile = () => path('worker/wallet.key')
    beforeAll(async () => {
      worker = startWorkerProcess(system.url, ['--wallet-file', walletFile()])
      await worker.waitFor((e) => e.type === 'connected')
    })
    afterAll(() => worker?.interrupt(10_000))

    it('the worker names its adapter and peer id at start', () => {
      const started = worker.events.find((e) => e.type === 'started') as
        | { adapter: string; peerId: string; peerKeyFile: string }
        | undefined
      expect(started?.adapter).toMatch(/\S/)
      expect(started?.peerId).toMatch(/^12D3Koo/)
      expect(started?.peerKeyFile).toBe(path('worker/wallet.peer-key'))
    })

    it('--cast float32 multiplies float64 files, with a warning; without it, the fix is named', async () => {
      const refused = await runCli(matmulArgs('a64.npy', 'b64.npy'))
      expect(refused.code).toBe(2)
      expect(refused.stderr).toMatch(
        /a: .*a64\.npy: unsupported dtype '<f8' \(float64, numpy's default\); .*a\.astype\('float32'\).*--cast float32/,
      )
      const cast = await runCli([...matmulArgs('a64.npy', 'b64.npy'), '--cast', 'float32'], {
        timeoutMs: 120_000,
      })
      expect(cast.code, cast.stderr).toBe(0)
      expect(cast.stderr).toMatch(
        /^tabswarm: warning: \S+a64\.npy, \S+b64\.npy read as float32 \(--cast float32\): float32 keeps about 7 significant digits/m,
      )
      const c = parseNpy(await readFile(path('c.npy')))
      expect(productMismatch(c.data as Float32Array, a, b, m, k, n)).toBeUndefined()
    })

    it('a job that needs a second opinion says so while it waits', async () => {
      const spec = await spinJob(client, { ms: 10 })
      const job = await client.submit({
        ...spec,
        verification: { replication: 2, spotCheck: 0, canaries: 0 },
      })
      const watch = spawnCli(['job', job.id.slice(0, 8), '--watch', ...relay()])
      try {
        await watch.waitFor(
          /^job \S+: 0\/1 tasks accepted; 1 task awaits a second opinion from a different contributor .*1 contributor online, who computed them/m,
        )
      } finally {
        watch.child.kill('SIGINT')
        await watch.exited
        await job.cancel()
      }
    })

    it('keeps its peer id across runs, in a file only its owner reads', async () => {
      const first = worker.events.find((e) => e.type === 'started') as { peerId: string }
      expect(await worker.interrupt(30_000)).toBe(0)
      expect((await stat(path('worker/wallet.peer-key'))).mode & 0o777).toBe(0o600)
      worker = startWorkerProcess(system.url, ['--wallet-file', walletFile()])
      const again = (await worker.waitFor((e) => e.type === 'started')) as { peerId: string }
      expect(again.peerId).toBe(first.peerId)
    })
  })
})
