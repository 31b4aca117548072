import { BYTES_PER_ELEMENT } from '@tabswarm/protocol'
import { KernelShapeError } from '../../errors.ts'
import { assertBufferFits } from '../../host/buffer-limits.ts'
import type { ProgramBuffer } from '../../host/gpu-program.ts'
import type { HostLimits } from '../../host/kernel-types.ts'
import { assertDimension } from '../common/assert-dimension.ts'
import { type FloatData, floatDtypeOf, floatLength } from '../common/float-dtype.ts'
import { addFloatResult, addInput, type KernelPlan } from '../common/kernel-plan.ts'
import { MAX_ATTENTION_HEAD_DIM } from './attention-program.ts'
import { ropePass, ropeTables } from './decoder-passes.ts'
import type { RopeRequest } from './transformer-requests.ts'

/**
 * Plan a rotary embedding. The angles' cosines and sines are computed here, on the CPU in
 * f64, and uploaded: WGSL's `cos`/`sin` promise only 2⁻¹¹ absolute accuracy.
 */
export function planRope(request: RopeRequest, limits: HostLimits): KernelPlan<FloatData> {
  const dtype = floatDtypeOf(request.dtype)
  const { heads, headDim, theta, positions } = request
  assertDimension('heads', heads)
  assertDimension('headDim', headDim)
  if (headDim % 2 !== 0 || headDim > MAX_ATTENTION_HEAD_DIM) {
    throw new KernelShapeError(
      `headDim must be even and at most ${MAX_ATTENTION_HEAD_DIM}, got ${headDim}.`,
    )
  }
  if (!(typeof theta === 'number' && Number.isFinite(theta) && theta > 0)) {
    throw new KernelShapeError(`theta must be a positive finite number, got ${String(theta)}.`)
  }
  if (
    !(positions instanceof Int32Array || positions instanceof Uint32Array) ||
    positions.length < 1
  ) {
    throw new KernelShapeError('positions must be a non-empty Int32Array or Uint32Array.')
  }
  const rows = positions.length
  for (let r = 0; r < rows; r++) {
    if ((positions[r] as number) < 0) {
      throw new KernelShapeError(`positions[${r}] is ${positions[r]}: positions are non-negative.`)
    }
  }
  const length = floatLength('x', request.x, dtype)
  if (length !== rows * heads * headDim) {
    throw new KernelShapeError(
      `x.length (${length}) must equal positions.length*heads*headDim (${rows}*${heads}*${headDim} = ${rows * heads * headDim}).`,
    )
  }
  assertBufferFits(
    'x',
    `${length}*${BYTES_PER_ELEMENT[dtype]}`,
    length * BYTES_PER_ELEMENT[dtype],
    limits,
  )
  assertBufferFits('output', `${length}*4`, length * 4, limits)
  const tables = ropeTables(positions, headDim, theta)
  const buffers: ProgramBuffer[] = []
  const x = addInput(buffers, 'x', request.x)
  const cos = addInput(buffers, 'cos', tables.cos)
  const sin = addInput(buffers, 'sin', tables.sin)
  const result = addFloatResult(buffers, 'y', length, dtype)
  return {
    program: {
      label: 'rope',
      buffers,
      outputs: [result.output],
      passes: [
        ropePass({ x: result.target, src: { index: x, dtype }, cos, sin, rows, heads, headDim }),
        ...result.finish,
      ],
    },
    decode: ([bytes]) => result.decode(bytes as ArrayBuffer),
  }
}
