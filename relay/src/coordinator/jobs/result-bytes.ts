import { tensorByteLength } from '@tabswarm/protocol'
import { inferenceOutputs } from '../inference/inference-lease.ts'
import type { JobRuntime } from './job-runtime.ts'

/**
 * The payload bytes a result for task `index` of `job` carries: what the relay lets a peer
 * send for it, decided from the task (never from the sizes the peer declares). A matmul
 * tile's C is `rows·cols` float32 values; a custom task's outputs are packed at 4-byte
 * aligned offsets (`packBuffers`), so each is rounded up to a multiple of 4.
 */
export function resultPayloadBytes(job: JobRuntime, index: number): number {
  const { inputs } = job
  if (inputs.kind === 'matmul') {
    const tile = inputs.tiles[index]
    return tile == null ? 0 : tile.rows * tile.cols * 4
  }
  if (inputs.kind === 'inference') {
    if (!(index >= 0 && index < job.tasks.length)) return 0
    let bytes = 0
    for (const out of inferenceOutputs(inputs, index))
      bytes += Math.ceil(tensorByteLength(out.shape, out.dtype) / 4) * 4
    return bytes
  }
  const task = inputs.spec.tasks[index]
  let bytes = 0
  for (const out of task?.outputs ?? [])
    bytes += Math.ceil(tensorByteLength(out.shape, out.dtype) / 4) * 4
  return bytes
}
