/**
 * A researcher's endless kernel in a real Chromium worker, through the page's respawning
 * client (as the contributor page runs kernels): the call fails with `KernelTimeoutError`
 * at its deadline, the page's own thread keeps answering meanwhile, the worker is
 * replaced by one with a device of its own. (Terminating the
 * old worker instead would destroy its device, and Chromium's GPU process would wait for
 * the endless dispatch before serving any device again: see `retire`.)
 */
import {
  compareMatmul,
  createRespawningKernelWorker,
  type KernelWorkerApi,
  type KernelWorkerRemote,
  matmulReferenceWithBound,
  seededRandomF32,
} from '@tabswarm/worker-kernels'
import { wrap } from 'comlink'
import type { CaseOutcome } from './kernel-cases.ts'

/** A loop the compiler cannot prove finite: it ends only on an input nobody sends. */
const FOREVER_WGSL = `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(1) fn main() {
  var i = 0u;
  loop { i = i + 1u; if (x[0] < -1.0) { break; } y[0] = f32(i); }
}`

/** The kernel's deadline: short, as the lease of a test relay would make it. */
const HOSTILE_TIMEOUT_MS = 2_000

/** Run the scenario with fresh workers; `ok` only if every step behaved. */
export async function runHostileKernelCase(): Promise<CaseOutcome> {
  const reasons: string[] = []
  const kernels = createRespawningKernelWorker({
    spawn: () => {
      const worker = new Worker(new URL('./kernel-suite-worker.ts', import.meta.url), {
        type: 'module',
        name: 'tabswarm-kernels-hostile',
      })
      return {
        remote: wrap<KernelWorkerApi>(worker) as unknown as KernelWorkerRemote,
        terminate: () => worker.terminate(),
      }
    },
    graceMs: 1_000,
    onRespawn: (reason) => reasons.push(reason),
  })
  const steps: string[] = []
  try {
    await kernels.client.init({ timeoutMs: 30_000 })
    // The page's event loop, sampled while the endless kernel runs: the longest gap
    // between 50 ms ticks tells whether the page froze.
    let longestGapMs = 0
    let last = performance.now()
    const ticker = setInterval(() => {
      const now = performance.now()
      longestGapMs = Math.max(longestGapMs, now - last)
      last = now
    }, 50)
    const started = performance.now()
    const hostile = await kernels.client
      .run(
        {
          kernel: 'custom',
          program: {
            wgsl: FOREVER_WGSL,
            inputs: [{ name: 'x', dtype: 'float32' }],
            outputs: [{ name: 'y', dtype: 'float32' }],
          },
          inputs: [new Float32Array(1)],
          outputs: [{ length: 1 }],
          workgroups: [1, 1, 1],
        },
        { timeoutMs: HOSTILE_TIMEOUT_MS },
      )
      .then(
        () => new Error('the endless kernel resolved'),
        (err: unknown) => err as Error,
      )
    clearInterval(ticker)
    const hostileMs = performance.now() - started
    const replacedAfterHostile = reasons.length
    steps.push(
      `hostile: ${hostile.name} after ${Math.round(hostileMs)} ms, page's longest gap ${Math.round(longestGapMs)} ms, respawns ${kernels.respawns}`,
    )

    // The new worker has a device of its own: acquiring it does not wait on the old one.
    const info = await kernels.client.init({ timeoutMs: 10_000 }).then(
      () => 'acquired',
      (err: unknown) => `${(err as Error).name}`,
    )
    steps.push(`new worker's device: ${info}`)

    // Reported, not required: SwiftShader runs every device's dispatches on one pool of CPU
    // threads in the GPU process, and the endless invocation holds one of them for good, so
    // on a 2-core machine the next dispatch is sometimes queued behind it (about one run in
    // two measured). A hardware GPU's watchdog resets such a dispatch instead.
    const [m, k, n] = [64, 48, 40]
    const a = seededRandomF32(m * k, 51)
    const b = seededRandomF32(k * n, 52)
    const innocentStarted = performance.now()
    const innocent = await kernels.client
      .run({ kernel: 'matmul', a, b, m, k, n }, { timeoutMs: 5_000 })
      .then(
        (c) => {
          const { c: expected, bound } = matmulReferenceWithBound(a, b, m, k, n)
          return compareMatmul(c, expected, { k, bound }).ok ? 'ok' : 'wrong'
        },
        (err: unknown) => (err as Error).name,
      )
    steps.push(
      `innocent matmul: ${innocent} in ${Math.round(performance.now() - innocentStarted)} ms`,
    )

    const ok =
      hostile.name === 'KernelTimeoutError' &&
      hostileMs < HOSTILE_TIMEOUT_MS + 1_500 &&
      longestGapMs < 1_000 &&
      replacedAfterHostile === 1 &&
      info === 'acquired' &&
      innocent !== 'wrong'
    return { ok, detail: steps.join('; ') }
  } finally {
    kernels.terminate()
  }
}
