/**
 * What a planner knows about the host beyond its limits: the features enabled on its
 * device (which arithmetic the kernels may use) and the work budget of one submission
 * (how finely a long reduction must be split). Plain data, so `planKernel` stays a pure
 * function a test can call with a made-up host.
 */
import { DEFAULT_MAX_WORK_PER_SUBMISSION } from '../../constants.ts'

export type PlanContext = {
  /** Features enabled on the device (`HostInfo.deviceFeatures`), e.g. `shader-f16`. */
  deviceFeatures: readonly string[]
  /**
   * Most work units one submission carries (`KernelHostOptions.maxWorkPerSubmission`):
   * a pass whose single workgroup costs more is refused by the runner, so planners split
   * such work (matmul along k) to stay below it.
   */
  maxWorkPerSubmission: number
}

/** A host with no optional features and the default work budget. */
export const DEFAULT_PLAN_CONTEXT: PlanContext = {
  deviceFeatures: [],
  maxWorkPerSubmission: DEFAULT_MAX_WORK_PER_SUBMISSION,
}
