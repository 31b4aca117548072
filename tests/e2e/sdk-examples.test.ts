import { cp, mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startWorkerProcess, type WorkerProcess } from '../support/headless-worker-process.ts'
import { runCli, runNode } from '../support/run-cli.ts'
import { startTabswarmProcess, type TabswarmProcess } from '../support/tabswarm-process.ts'

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url))

/**
 * Runs an example script as examples/README.md does (`npx node <script>`: the project's
 * Node 24, which is the Node running these tests), and resolves with its output.
 */
const runExample = (script: string, args: string[], cwd = EXAMPLES) =>
  runNode(join(EXAMPLES, script), args, { cwd, timeoutMs: 180_000 })

/** `pi ≈ 3.14159 ± 0.0008 (standard error)` from an example's output: the estimate and its error. */
function piOf(text: string): { pi: number; standardError: number } {
  const [, pi, standardError] = /pi ≈ (\d\.\d+) ± (\d\.\d+) \(standard error\)/.exec(text) ?? []
  return { pi: Number(pi), standardError: Number(standardError) }
}

/**
 * Within 4 standard errors of π (a chance of 6e-5 for an unbiased estimator), and the error
 * as the sample count gives it: 4·sqrt(p(1 − p)/N) with p = π/4.
 */
function expectNearPi(text: string, samples: number) {
  const { pi, standardError } = piOf(text)
  const expected = 4 * Math.sqrt(((Math.PI / 4) * (1 - Math.PI / 4)) / samples)
  expect(standardError).toBeCloseTo(expected, 5)
  expect(Math.abs(pi - Math.PI)).toBeLessThan(4 * standardError)
}

/**
 * Every example, as its header and examples/README.md say to run it, against a real relay
 * with headless workers; shapes and sample counts shrunk through the examples' own flags.
 */
describe('the examples run as written', () => {
  let system: TabswarmProcess
  let workers: WorkerProcess[] = []
  let dir: string

  beforeAll(async () => {
    system = await startTabswarmProcess()
    // Two: a custom kernel's results from newcomers need two agreeing contributors.
    workers = [startWorkerProcess(system.url), startWorkerProcess(system.url)]
    dir = await mkdtemp(join(tmpdir(), 'tabswarm-examples-'))
  })
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.interrupt(10_000)))
    await system?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('large-matmul.ts multiplies on the swarm and passes its own Freivalds check', async () => {
    const run = await runExample('large-matmul/large-matmul.ts', [
      '--relay',
      system.url,
      '--shape',
      '300x200x260',
    ])
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toMatch(/C is 300×260, [\d.]+ GFLOP\/s end to end; Freivalds: ok/)
  })

  it('monte-carlo-pi: make-seeds.ts, tabswarm run spec.json, estimate.ts', async () => {
    // The spec and kernel as shipped, in a scratch copy so seeds/ and out/ stay out of the repo.
    const sweep = join(dir, 'monte-carlo-pi')
    await cp(join(EXAMPLES, 'monte-carlo-pi'), sweep, {
      recursive: true,
      filter: (src) => !/[/\\](seeds|out)$/.test(src),
    })
    const seeds = await runExample(
      'monte-carlo-pi/make-seeds.ts',
      ['--files', '4', '--per-file', '256', '--dir', join(sweep, 'seeds')],
      sweep,
    )
    expect(seeds.code, seeds.stderr).toBe(0)
    expect(seeds.stdout).toMatch(/wrote 4 files of 256 seeds/)

    const run = await runCli(['run', join(sweep, 'spec.json'), '--relay', system.url], {
      timeoutMs: 180_000,
    })
    expect(run.code, run.stderr).toBe(0)
    expect((await readdir(join(sweep, 'out'))).sort()).toEqual([
      'batch-0.npy',
      'batch-1.npy',
      'batch-2.npy',
      'batch-3.npy',
    ])

    const estimate = await runExample(
      'monte-carlo-pi/estimate.ts',
      ['--dir', join(sweep, 'out')],
      sweep,
    )
    expect(estimate.code, estimate.stderr).toBe(0)
    expect(estimate.stdout).toMatch(/from 4,194,304 samples/)
    // 4 Mi samples: the standard error is about 0.0008.
    expectNearPi(estimate.stdout, 4_194_304)
  })

  it('monte-carlo-pi/sweep-with-sdk.ts quotes, submits and folds results in as they come', async () => {
    const run = await runExample('monte-carlo-pi/sweep-with-sdk.ts', [
      '--relay',
      system.url,
      '--tasks',
      '3',
      '--per-task',
      '128',
    ])
    expect(run.code, run.stderr).toBe(0)
    expect(run.stderr).toMatch(/3 tasks for \d+ credits/)
    expect(run.stdout).toMatch(/from 1,572,864 samples; spent \d+ credits, refunded \d+/)
    expectNearPi(run.stdout, 1_572_864)
  })
})
