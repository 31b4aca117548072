import { elementCount } from '@tabswarm/protocol'
import type { CoordinatorStore } from '../../store/coordinator-store.ts'
import { inferenceTaskFlops } from '../inference/inference-inputs.ts'
import type { JobRuntime } from './job-runtime.ts'

/** One hour in ms: compute is counted per UTC hour. */
export const HOUR_MS = 3_600_000

/** The start of the UTC hour holding `at` (ms since the epoch). */
export const hourOf = (at: number): number => Math.floor(at / HOUR_MS) * HOUR_MS

/**
 * Useful floating-point operations of one task, as the job was priced: a matmul tile's
 * 2·rows·k·cols; a custom kernel's estimate, 1,000 per output element (see `job-planner.ts`).
 */
export function taskFlops(job: JobRuntime, index: number): number {
  const inputs = job.inputs
  if (inputs.kind === 'matmul') {
    const tile = inputs.tiles[index]
    return tile == null ? 0 : 2 * tile.rows * inputs.k * tile.cols
  }
  if (inputs.kind === 'inference') return inferenceTaskFlops(inputs, index)
  const task = inputs.spec.tasks[index]
  let elements = 0
  for (const out of task?.outputs ?? []) elements += elementCount(out.shape)
  return elements * 1000
}

/**
 * Counts (or, with `sign` -1, takes back) one accepted task's work in the hour it was
 * accepted, for the public figures. Called inside the transaction that records (or undoes)
 * the acceptance, so the count and the result row commit together.
 */
export function tallyCompute(
  store: CoordinatorStore,
  job: JobRuntime,
  taskIndex: number,
  acceptedAt: number,
  sign: 1 | -1 = 1,
): void {
  store.addCompute(hourOf(acceptedAt), (sign * taskFlops(job, taskIndex)) / 1e9, sign)
}
