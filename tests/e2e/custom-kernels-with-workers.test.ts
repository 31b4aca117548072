import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createClient, encodeNpy, parseNpy, type TabswarmClient } from '@tabswarm/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startWorkerProcess, type WorkerProcess } from '../support/headless-worker-process.ts'
import { monteCarloHits } from '../support/monte-carlo-reference.ts'
import { runCli } from '../support/run-cli.ts'
import { SPIN_WGSL, spinsLasting } from '../support/spin-job.ts'
import { startTabswarmProcess, type TabswarmProcess } from '../support/tabswarm-process.ts'

const EXAMPLE = fileURLToPath(new URL('../../examples/monte-carlo-pi/', import.meta.url))

const seedsFor = (file: number, count: number) =>
  Uint32Array.from({ length: count }, (_, i) => Math.imul(file * count + i + 1, 0x9e3779b1) >>> 0)

/**
 * Researchers' own WGSL through the whole system: `tabswarm run` and `client.map` submit
 * the Monte Carlo example, headless dawn workers run it, every output is compared with a
 * CPU twin of the kernel, and the credits add up.
 */
describe('custom WGSL kernels with headless workers', () => {
  let system: TabswarmProcess
  let workers: WorkerProcess[]
  let client: TabswarmClient
  let dir: string

  beforeAll(async () => {
    system = await startTabswarmProcess()
    client = createClient({ relay: system.url })
    workers = [startWorkerProcess(system.url), startWorkerProcess(system.url)]
    dir = await mkdtemp(join(tmpdir(), 'tabswarm-custom-'))
  })
  afterAll(async () => {
    await Promise.all((workers ?? []).map((w) => w.interrupt(10_000)))
    await system?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('tabswarm run maps the Monte Carlo example over .npy files, one exact output each', async () => {
    await cp(join(EXAMPLE, 'pi.wgsl'), join(dir, 'pi.wgsl'))
    await cp(join(EXAMPLE, 'spec.json'), join(dir, 'spec.json'))
    const files = 6
    const perFile = 200
    await mkdir(join(dir, 'seeds'))
    for (let f = 0; f < files; f++) {
      const data = seedsFor(f, perFile)
      await writeFile(
        join(dir, 'seeds', `batch-${f}.npy`),
        encodeNpy({ dtype: 'uint32', shape: [perFile], data }),
      )
    }
    const run = await runCli(['run', join(dir, 'spec.json'), '--json', '--relay', system.url], {
      timeoutMs: 180_000,
    })
    expect(run.code, run.stderr).toBe(0)
    const summary = JSON.parse(run.stdout) as {
      job: string
      tasks: number
      written: number
      credits: { budget: string; spent: string; refunded: string }
    }
    expect(summary).toMatchObject({ tasks: files, written: files })
    const outputs = (await readdir(join(dir, 'out'))).sort()
    expect(outputs).toEqual(Array.from({ length: files }, (_, f) => `batch-${f}.npy`).sort())
    for (let f = 0; f < files; f++) {
      const out = parseNpy(await readFile(join(dir, 'out', `batch-${f}.npy`)))
      expect(out.dtype).toBe('uint32')
      expect(out.shape).toEqual([perFile])
      expect([...out.data]).toEqual([...monteCarloHits(seedsFor(f, perFile))])
    }
    const job = await client.getJob(summary.job)
    expect(job).toMatchObject({ kernel: 'custom', status: 'completed' })
    expect(BigInt(job.credits.spent)).toBeGreaterThan(0n)
    // What the run printed is the job's settled account, taken from its last event.
    expect(summary.credits).toEqual(job.credits)
  })

  it('tabswarm run cancels its job when an output cannot be written', async () => {
    // Spin tasks of 0.25 s, each run twice (run's default replication): the first result is
    // accepted about half way through the job's 4 s of work for two workers, so the job is
    // still running when its output fails to write. (Tiny pi tasks could all be accepted
    // before the cancel, and the test would then prove nothing.)
    const sweep = join(dir, 'unwritable')
    await mkdir(join(sweep, 'spins'), { recursive: true })
    await writeFile(join(sweep, 'spin.wgsl'), SPIN_WGSL)
    await writeFile(
      join(sweep, 'spec.json'),
      JSON.stringify({
        wgsl: 'spin.wgsl',
        inputs: 'spins',
        output: { dtype: 'uint32', shape: 'input' },
        workgroups: [1, 1, 1],
      }),
    )
    const files = 16
    const spins = encodeNpy({
      dtype: 'uint32',
      shape: [1],
      data: Uint32Array.of(spinsLasting(250)),
    })
    for (let f = 0; f < files; f++) {
      await writeFile(join(sweep, 'spins', `task-${f}.npy`), spins)
      // A directory where each output's temporary file must go: the first write fails.
      await mkdir(join(sweep, 'out', `task-${f}.npy.part`), { recursive: true })
    }
    const run = await runCli(['run', join(sweep, 'spec.json'), '--json', '--relay', system.url], {
      timeoutMs: 120_000,
    })
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/EISDIR/)
    const [job] = await client.listJobs({ limit: 1 })
    expect(job).toMatchObject({ kernel: 'custom', status: 'cancelled' })
    expect(job!.tasks.accepted).toBeLessThan(files)
    expect(BigInt(job!.credits.refunded)).toBe(
      BigInt(job!.credits.budget) - BigInt(job!.credits.spent),
    )
  })

  it('client.map streams verified results as they are accepted, each once', async () => {
    const wgsl = await readFile(join(EXAMPLE, 'pi.wgsl'), 'utf8')
    const program = {
      wgsl,
      inputs: [{ name: 'seeds', dtype: 'uint32' as const }],
      outputs: [{ name: 'hits', dtype: 'uint32' as const }],
    }
    const inputs = [0, 1, 2, 3].map((f) => ({ shape: [64], data: seedsFor(100 + f, 64) }))
    const job = await client.map(program, inputs, {
      outputs: [{ shape: [64], dtype: 'uint32' }],
      workgroups: [1, 1, 1],
      name: 'pi via map',
    })
    const seen = new Set<number>()
    for await (const result of job.results()) {
      expect(seen.has(result.index)).toBe(false)
      seen.add(result.index)
      expect([...result.outputs[0]!.data]).toEqual([...monteCarloHits(inputs[result.index]!.data)])
    }
    expect([...seen].sort()).toEqual([0, 1, 2, 3])
    const done = await job.status()
    expect(done.status).toBe('completed')
    expect(BigInt(done.credits.spent) + BigInt(done.credits.refunded)).toBe(
      BigInt(done.credits.budget),
    )
  })

  it("a custom kernel that does not compile is refused at submit with the compiler's line:column", async () => {
    // The relay compiles it on its own adapter (SwiftShader here): no job, no escrow, and no
    // wait for two distinct contributors to report it.
    const submitting = client.map(
      {
        wgsl: '@compute @workgroup_size(1) fn main() { let x: u32 = oops; }',
        inputs: [],
        outputs: [{ name: 'out', dtype: 'uint32' }],
      },
      [[]],
      { outputs: [{ shape: [1], dtype: 'uint32' }], workgroups: [1, 1, 1] },
    )
    await expect(submitting).rejects.toMatchObject({ status: 422 })
    await expect(submitting).rejects.toThrow(/does not compile: 1:\d+: .*oops/)
  })

  it('workers are credited in their wallets; a cancelled job refunds what it did not spend', async () => {
    const wallet = workers[0]!.events.find((e) => e.type === 'wallet')?.address as string
    expect(wallet).toMatch(/^0x[0-9a-fA-F]{40}$/)
    const credits = await runCli(['credits', wallet, '--json', '--relay', system.url])
    expect(credits.code, credits.stderr).toBe(0)
    // Decimal strings in JSON: exact however large.
    const account = JSON.parse(credits.stdout) as { earned: string; pending: string }
    expect(account.earned).toMatch(/^(0|[1-9][0-9]*)$/)
    expect(BigInt(account.earned) + BigInt(account.pending)).toBeGreaterThan(0n)

    // Stop the workers, so the next job cannot start before it is cancelled.
    await Promise.all(workers.map((w) => w.interrupt(30_000)))
    const seeds = encodeNpy({ dtype: 'uint32', shape: [64], data: seedsFor(7, 64) })
    const ref = await client.uploadTensor(parseNpy(seeds))
    const spec = {
      kernel: 'custom' as const,
      program: {
        wgsl: await readFile(join(EXAMPLE, 'pi.wgsl'), 'utf8'),
        inputs: [{ name: 'seeds', dtype: 'uint32' as const }],
        outputs: [{ name: 'hits', dtype: 'uint32' as const }],
      },
      tasks: Array.from({ length: 5 }, () => ({
        inputs: [ref],
        outputs: [{ shape: [64], dtype: 'uint32' as const }],
        workgroups: [1, 1, 1] as [number, number, number],
      })),
    }
    const quote = await client.quote(spec)
    expect(quote.tasks).toBe(5)
    const before = await client.account('local')
    const job = await client.submit(spec)
    const cancel = await runCli(['cancel', job.id, '--json', '--relay', system.url])
    expect(cancel.code, cancel.stderr).toBe(0)
    const cancelled = JSON.parse(cancel.stdout) as {
      status: string
      credits: { budget: string; spent: string; refunded: string }
    }
    expect(cancelled.status).toBe('cancelled')
    expect(cancelled.credits).toEqual({
      budget: quote.credits,
      spent: '0',
      refunded: quote.credits,
    })
    const after = await client.account('local')
    expect(after.balance).toBe(before.balance)
    expect(after.escrowed).toBe(before.escrowed)
  })
})
