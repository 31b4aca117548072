/**
 * A GPU program: the buffers and compute passes one kernel call runs, as plain data.
 * Every kernel (built-in or custom) is planned into one of these and run by
 * `runGpuProgram`, so uploads, dispatch splitting, submissions, read-back, deadlines
 * and device loss are handled in one place for all of them.
 */
import type { Grid3 } from './dispatch-grid.ts'

/** A buffer of a program. Sizes are in bytes; the runner rounds them up to 4. */
export type ProgramBuffer =
  /** Uploaded before the first pass; bound read-only. */
  | { kind: 'input'; label: string; data: ArrayBufferView }
  /** Written by passes and read back, in `outputs` order. */
  | { kind: 'output'; label: string; bytes: number }
  /** Written and read by passes, never read back (intermediate results). */
  | { kind: 'scratch'; label: string; bytes: number }

/**
 * How a pass gets its `var<uniform>` (bound after its storage buffers):
 * - `grid`: the runner writes `[offsetX, offsetY, offsetZ, 0]` (u32) and then `params`;
 *   the pass may be split into several dispatches, and the kernel adds the offset to
 *   `workgroup_id`.
 * - `raw`: `params` as given, one dispatch of exactly `grid` (custom kernels).
 * - `none`: no uniform binding, one dispatch of exactly `grid`.
 */
export type PassUniform = 'grid' | 'raw' | 'none'

/** One compute pipeline dispatched over a grid. */
export type ProgramPass = {
  /** Pipeline cache key: equal keys must mean equal code, entry point and bindings. */
  key: string
  label: string
  code: string
  /** @default 'main' */
  entryPoint?: string
  /** Buffers (indices into `GpuProgram.buffers`) bound read-only at @binding(0..). */
  reads: number[]
  /** Buffers bound read-write right after `reads`. */
  writes: number[]
  uniform: PassUniform
  /** Uniform bytes (after the grid header for `grid`). */
  params?: ArrayBufferView
  /** Workgroups to run. */
  grid: Grid3
  /**
   * Rough cost of one workgroup (e.g. its FLOPs): the runner splits dispatches and
   * submissions so none exceeds the host's work budget.
   */
  workPerWorkgroup: number
}

/** The buffers and passes of one kernel call. */
export type GpuProgram = {
  label: string
  buffers: ProgramBuffer[]
  passes: ProgramPass[]
  /** Indices of `output` buffers to read back, in the order results are returned. */
  outputs: number[]
  /** Zero output and scratch buffers before the first pass (for kernels that may not write all). */
  zeroOutputs?: boolean
}

/** Header the runner writes before a `grid` pass's params: four u32. */
export const GRID_HEADER_BYTES = 16

/** WGSL of the grid header; kernels declare it as the first fields of their uniform struct. */
export const GRID_HEADER_WGSL =
  'groupOffsetX: u32, groupOffsetY: u32, groupOffsetZ: u32, groupPad: u32,'
