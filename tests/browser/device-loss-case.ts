/**
 * Device loss in a real Chromium worker, end to end through the page's client: the task
 * in flight fails with `DeviceLostError`, the page's listener hears of it, the next call
 * runs on a new device; then a worker that dies without a word (terminated behind the
 * client's back) costs a call its deadline plus the grace period, not forever.
 */
import {
  compareMatmul,
  createKernelWorkerClient,
  type DeviceLostDetails,
  type KernelWorkerApi,
  type KernelWorkerRemote,
  matmulReferenceWithBound,
  seededRandomF32,
} from '@tabswarm/worker-kernels'
import { wrap } from 'comlink'
import type { DeviceLossControls } from './device-loss-worker.ts'
import type { CaseOutcome } from './kernel-cases.ts'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Describe a settled value for the outcome's detail line. */
function describeSettled(value: unknown): string {
  return value instanceof Error ? `${value.name}: ${value.message.split('\n')[0]}` : String(value)
}

/** Run the scenario in a fresh worker; `ok` only if every step behaved. */
export async function runDeviceLossCase(): Promise<CaseOutcome> {
  const worker = new Worker(new URL('./device-loss-worker.ts', import.meta.url), {
    type: 'module',
    name: 'tabswarm-kernels-device-loss',
  })
  const remote = wrap<KernelWorkerApi & DeviceLossControls>(worker)
  const reports: DeviceLostDetails[] = []
  const client = createKernelWorkerClient({
    remote: remote as unknown as KernelWorkerRemote,
    onDeviceLost: (details) => reports.push(details),
    graceMs: 300,
  })
  const steps: string[] = []
  try {
    await client.init({ timeoutMs: 30_000 })
    // About a second of naive matmul on SwiftShader: the loss lands while it runs.
    const a = seededRandomF32(512 * 512, 41)
    const slow = client
      .run({ kernel: 'matmul', a, b: a, m: 512, k: 512, n: 512, variant: 'naive' })
      .then(
        () => 'resolved',
        (err: unknown) => err,
      )
    await sleep(100)
    await remote.loseDevice()
    const lost = await slow
    steps.push(`in flight: ${describeSettled(lost)}`)
    for (let i = 0; i < 100 && reports.length === 0; i++) await sleep(20)
    steps.push(`reports: ${JSON.stringify(reports.map((r) => r.reason))}`)

    const [m, k, n] = [33, 17, 34]
    const x = seededRandomF32(m * k, 42)
    const y = seededRandomF32(k * n, 43)
    const c = await client.run({ kernel: 'matmul', a: x, b: y, m, k, n }, { timeoutMs: 30_000 })
    const { c: expected, bound } = matmulReferenceWithBound(x, y, m, k, n)
    const next = compareMatmul(c, expected, { k, bound })
    const devices = await remote.deviceCount()
    steps.push(`next call ok=${next.ok}, devices=${devices}`)

    // Dead without a word: nothing will ever answer, and nobody called close().
    worker.terminate()
    const started = performance.now()
    const dead = await client
      .run({ kernel: 'matmul', a: x, b: y, m, k, n }, { timeoutMs: 200 })
      .then(
        () => 'resolved',
        (err: unknown) => err,
      )
    const waited = performance.now() - started
    steps.push(`dead worker: ${describeSettled(dead)} after ${Math.round(waited)} ms`)

    const ok =
      lost instanceof Error &&
      lost.name === 'DeviceLostError' &&
      reports.length === 1 &&
      reports[0]?.reason === 'destroyed' &&
      next.ok &&
      devices === 2 &&
      dead instanceof Error &&
      dead.name === 'KernelTimeoutError' &&
      waited >= 400 &&
      waited < 5_000
    return { ok, detail: steps.join('; ') }
  } finally {
    worker.terminate()
    client.close()
  }
}
