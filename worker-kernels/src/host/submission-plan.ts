import { KernelLimitError } from '../errors.ts'
import { type GridDispatch, planGridDispatches } from './dispatch-grid.ts'
import { type GpuProgram, GRID_HEADER_BYTES, type ProgramPass } from './gpu-program.ts'

/** Limits of `planSubmissions`. */
export type SubmissionLimits = {
  /** Most workgroups per axis in one dispatch. */
  maxWorkgroupsPerDimension: number
  /**
   * Most work (in the passes' `workPerWorkgroup` units) per dispatch and per submission:
   * bounds how long the GPU runs any one of them.
   */
  maxWorkPerSubmission: number
}

/** One dispatch of one pass, where its uniform goes. */
export type PlannedDispatch = {
  /** Index into `program.passes`. */
  pass: number
  dispatch: GridDispatch
  /** Uniform slot (times the device's offset alignment gives the byte offset); -1 for none. */
  uniformSlot: number
}

/** The dispatches of a program grouped into submissions, in order. */
export type SubmissionPlan = {
  /** Each inner list is one `queue.submit`, within the work budget. */
  submissions: PlannedDispatch[][]
  /** Uniform bytes of each pass (0 for none), rounded up to 16. */
  uniformBytes: number[]
  /** Uniform slots used in all: one per dispatch of a pass that has a uniform. */
  uniformSlots: number
}

const align = (value: number, to: number): number => Math.ceil(value / to) * to

function uniformBytesOf(pass: ProgramPass): number {
  const params = pass.params?.byteLength ?? 0
  if (pass.uniform === 'none') return 0
  return align((pass.uniform === 'grid' ? GRID_HEADER_BYTES : 0) + params, 16)
}

/**
 * Split every pass of a program into dispatches and group them into submissions so
 * that no dispatch and no submission exceeds the work budget (a GPU watchdog such as
 * Windows TDR resets the device past about 2 s). Only `grid` passes can be split; the
 * split is by workgroup, so a pass whose single workgroup costs more than the whole
 * budget cannot be made safe and is refused with `KernelLimitError` before anything
 * runs, rather than sent to trip the watchdog.
 */
export function planSubmissions(program: GpuProgram, limits: SubmissionLimits): SubmissionPlan {
  const { maxWorkPerSubmission, maxWorkgroupsPerDimension } = limits
  const uniformBytes = program.passes.map(uniformBytesOf)
  const submissions: PlannedDispatch[][] = []
  let current: PlannedDispatch[] = []
  let work = 0
  let uniformSlots = 0
  program.passes.forEach((pass, index) => {
    if (pass.workPerWorkgroup > maxWorkPerSubmission) {
      throw new KernelLimitError(
        `One workgroup of ${pass.label} costs ${pass.workPerWorkgroup} work units, above the ${maxWorkPerSubmission} one submission may carry.`,
        {
          details:
            'Dispatches are split by workgroup, so one that large could run past a GPU watchdog. Split the problem (the built-in matmul splits k itself) or raise maxWorkPerSubmission.',
        },
      )
    }
    const budget = Math.floor(maxWorkPerSubmission / pass.workPerWorkgroup)
    const dispatches: GridDispatch[] =
      pass.uniform === 'grid'
        ? planGridDispatches(pass.grid, {
            maxPerDimension: maxWorkgroupsPerDimension,
            maxPerDispatch: budget,
          })
        : [{ offset: [0, 0, 0], count: [pass.grid[0], pass.grid[1], pass.grid[2]] }]
    for (const dispatch of dispatches) {
      const cost = pass.workPerWorkgroup * dispatch.count[0] * dispatch.count[1] * dispatch.count[2]
      if (work > 0 && work + cost > maxWorkPerSubmission) {
        submissions.push(current)
        current = []
        work = 0
      }
      work += cost
      const uniformSlot = uniformBytes[index] ? uniformSlots++ : -1
      current.push({ pass: index, dispatch, uniformSlot })
    }
  })
  // Always at least one submission: it carries the clears and the read-back copies.
  submissions.push(current)
  return { submissions, uniformBytes, uniformSlots }
}
