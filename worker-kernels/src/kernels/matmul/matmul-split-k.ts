/**
 * Split-K: a matmul whose reduction is too long for one submission. The runner splits a
 * pass by workgroup, and one matmul workgroup walks all of k, so past
 * `maxWorkPerSubmission / (2·tileRows·tileCols)` a single workgroup would outlast the
 * budget (and a GPU watchdog) and the pass is refused. Instead k is cut into chunks:
 * pass s computes the partial products over `[s·chunk, (s+1)·chunk)` into slice s of a
 * scratch buffer, and a final pass adds the slices in order s = 0, 1, … for every
 * element of C. The order is fixed, so the result is deterministic, and the error bound
 * is still γₖ: no term passes through more than chunk + splits − 1 ≤ k roundings.
 */

import { KernelLimitError } from '../../errors.ts'
import type { ProgramPass } from '../../host/gpu-program.ts'

/** How k is split: `splits` chunks of `chunk` (the last one shorter). */
export type SplitK = { chunk: number; splits: number }

/** Most chunks one matmul is split into: each is a pass with its own uniform slot. */
export const MAX_SPLIT_K = 4096

/** Chunks are a multiple of this where the budget allows: the tiled kernel's k step. */
const CHUNK_ALIGN = 16

const SUM_THREADS = 256

/**
 * Split k so that one workgroup, costing `workPerK` per step of k, stays within
 * `maxWorkPerSubmission`; `undefined` when the whole reduction already fits (the
 * unsplit path, unchanged). Throws `KernelLimitError` when even one step of k is over
 * the budget or more than `MAX_SPLIT_K` chunks would be needed.
 */
export function planSplitK(
  k: number,
  workPerK: number,
  maxWorkPerSubmission: number,
): SplitK | undefined {
  if (workPerK * k <= maxWorkPerSubmission) return undefined
  const longest = Math.floor(maxWorkPerSubmission / workPerK)
  if (longest < 1) {
    throw new KernelLimitError(
      `One step of k costs ${workPerK} work units per workgroup, above the ${maxWorkPerSubmission} one submission may carry.`,
      { details: 'Raise maxWorkPerSubmission: no split of k can bring this matmul under it.' },
    )
  }
  const chunk = longest >= CHUNK_ALIGN ? longest - (longest % CHUNK_ALIGN) : longest
  const splits = Math.ceil(k / chunk)
  if (splits > MAX_SPLIT_K) {
    throw new KernelLimitError(
      `k = ${k} would need ${splits} split-K passes of ${chunk}, above the ${MAX_SPLIT_K} one call may have.`,
      {
        details:
          'Raise maxWorkPerSubmission, or split the product along k across calls and add the parts.',
      },
    )
  }
  return { chunk, splits }
}

/**
 * Sum `splits` slices of `count` f32 values each, in slice order, into `count` values.
 * One invocation per element; slice s of element i is at `s·count + i`.
 */
export const SUM_SPLITS_WGSL = /* wgsl */ `
struct Params { groupOffsetX: u32, groupOffsetY: u32, groupOffsetZ: u32, groupPad: u32, count: u32, splits: u32 }
@group(0) @binding(0) var<storage, read> parts: array<f32>;
@group(0) @binding(1) var<storage, read_write> sum: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(${SUM_THREADS}, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + params.groupOffsetX) * ${SUM_THREADS}u + li;
  if (i >= params.count) {
    return;
  }
  var total = parts[i];
  for (var s = 1u; s < params.splits; s++) {
    total += parts[s * params.count + i];
  }
  sum[i] = total;
}
`

/** The pass adding the split-K slices in buffer `parts` into buffer `target`. */
export function createSumSplitsPass(
  parts: number,
  target: number,
  count: number,
  splits: number,
): ProgramPass {
  return {
    key: 'matmul-sum-splits',
    label: 'matmul-sum-splits',
    code: SUM_SPLITS_WGSL,
    reads: [parts],
    writes: [target],
    uniform: 'grid',
    params: new Uint32Array([count, splits, 0, 0]),
    grid: [Math.ceil(count / SUM_THREADS), 1, 1],
    workPerWorkgroup: SUM_THREADS * splits,
  }
}
