import { elementCount, type NpyHeader, RELAY_MAX_JSON_BYTES } from '@tabswarm/protocol'
import type { JobSpec } from '../../client/client.ts'
import { UsageError } from '../usage-error.ts'
import type { LoadedRunSpec } from './run-spec.ts'

export type CustomJobSpec = Extract<JobSpec, { kernel: 'custom' }>

/** A blob hash as it will appear in the submitted spec: sizes the spec before uploading. */
const PLACEHOLDER_BLOB = '0'.repeat(64)

/**
 * The job `tabswarm run` submits: one task per input, its input ref from `blobOf`, its
 * output shape and workgroups from the input's header.
 */
export function runJobSpec(
  spec: LoadedRunSpec,
  headers: readonly NpyHeader[],
  budget: JobSpec['budget'],
  blobOf: (index: number) => string,
): CustomJobSpec {
  const dtype = headers[0]!.dtype
  return {
    kernel: 'custom',
    ...(spec.name ? { name: spec.name } : {}),
    ...(budget != null ? { budget } : {}),
    program: {
      wgsl: spec.wgslSource,
      entryPoint: spec.entryPoint,
      inputs: [{ name: 'input', dtype }],
      outputs: [{ name: 'output', dtype: spec.output.dtype }],
    },
    tasks: headers.map((header, index) => {
      const elements = elementCount(header.shape)
      return {
        inputs: [{ blob: blobOf(index), dtype: header.dtype, shape: header.shape }],
        outputs: [
          {
            shape: spec.output.shape === 'input' ? header.shape : spec.output.shape,
            dtype: spec.output.dtype,
          },
        ],
        workgroups: Array.isArray(spec.workgroups)
          ? spec.workgroups
          : [Math.max(1, Math.ceil(elements / spec.workgroups.elementsPerWorkgroup)), 1, 1],
      }
    }),
  }
}

/**
 * Refuses, before anything is uploaded, a run whose job spec the relay would refuse for
 * its size (HTTP 413 after every input was uploaded), saying how many inputs fit.
 */
export function checkRunJobSize(
  spec: LoadedRunSpec,
  headers: readonly NpyHeader[],
  budget: JobSpec['budget'],
  maxBytes = RELAY_MAX_JSON_BYTES,
): void {
  const bytes = new TextEncoder().encode(
    JSON.stringify(runJobSpec(spec, headers, budget, () => PLACEHOLDER_BLOB)),
  ).byteLength
  if (bytes <= maxBytes) return
  const perTask = bytes / headers.length
  throw new UsageError(
    `${headers.length} inputs make a job spec of ${(bytes / 1024 ** 2).toFixed(1)} MiB; the relay ` +
      `takes at most ${(maxBytes / 1024 ** 2).toFixed(0)} MiB: split them into runs of at most ` +
      `${Math.floor((maxBytes * 0.95) / perTask)} inputs`,
  )
}
