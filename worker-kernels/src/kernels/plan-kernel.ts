import { KernelShapeError } from '../errors.ts'
import type { HostLimits } from '../host/kernel-types.ts'
import type { KernelPlan } from './common/kernel-plan.ts'
import { DEFAULT_PLAN_CONTEXT, type PlanContext } from './common/plan-context.ts'
import { planCustomKernel } from './custom/custom-kernel-program.ts'
import { planActivation, planBiasAdd, planResidualAdd } from './elementwise/elementwise-program.ts'
import type { KernelName, KernelRequest, KernelResult } from './kernel-request.ts'
import { planMatmul } from './matmul/matmul-program.ts'
import { planAttention } from './transformer/attention-program.ts'
import { planDecoderLayers } from './transformer/decoder-layers-program.ts'
import { planEmbedding } from './transformer/embedding-program.ts'
import { planRope } from './transformer/rope-program.ts'
import {
  planLayerNorm,
  planReduce,
  planRmsNorm,
  planSoftmax,
} from './transformer/row-ops-program.ts'
import { planSwiglu } from './transformer/swiglu-program.ts'

type Planner = (
  request: never,
  limits: HostLimits,
  context: PlanContext,
) => KernelPlan<KernelResult>

const PLANNERS: Record<KernelName, Planner> = {
  matmul: planMatmul,
  activation: planActivation,
  'bias-add': planBiasAdd,
  'residual-add': planResidualAdd,
  'layer-norm': planLayerNorm,
  'rms-norm': planRmsNorm,
  softmax: planSoftmax,
  reduce: planReduce,
  attention: planAttention,
  embedding: planEmbedding,
  rope: planRope,
  swiglu: planSwiglu,
  'decoder-layers': planDecoderLayers,
  custom: planCustomKernel,
}

/** The kernels `run` accepts, by name. */
export const KERNEL_NAMES: readonly KernelName[] = Object.keys(PLANNERS) as KernelName[]

/**
 * Validate a `run` request and plan it for a device with `limits` and, in `context`, the
 * device's features and the host's work budget per submission (which decide matmul's
 * f16 arithmetic and split-K). Throws `KernelShapeError` (unknown kernel, bad shapes) or
 * `KernelLimitError` before any GPU work.
 */
export function planKernel(
  request: KernelRequest,
  limits: HostLimits,
  context: PlanContext = DEFAULT_PLAN_CONTEXT,
): KernelPlan<KernelResult> {
  const name = (request as { kernel?: unknown } | null)?.kernel
  if (typeof name !== 'string' || !Object.hasOwn(PLANNERS, name)) {
    throw new KernelShapeError(
      `kernel must be one of ${KERNEL_NAMES.join(', ')}, got ${JSON.stringify(name)}.`,
    )
  }
  const planner = PLANNERS[name as KernelName]
  return planner(request as never, limits, context)
}
