import { BYTES_PER_ELEMENT } from '@tabswarm/protocol'
import { KernelShapeError } from '../../errors.ts'
import { assertBufferFits } from '../../host/buffer-limits.ts'
import type { ProgramBuffer } from '../../host/gpu-program.ts'
import type { HostLimits } from '../../host/kernel-types.ts'
import { type FloatData, floatDtypeOf, floatLength } from '../common/float-dtype.ts'
import { addFloatResult, addInput, type KernelPlan } from '../common/kernel-plan.ts'
import { swigluPass } from './decoder-passes.ts'
import type { SwigluRequest } from './transformer-requests.ts'

/** Plan SwiGLU's gating, `silu(gate)·up`, over two operands of equal length. */
export function planSwiglu(request: SwigluRequest, limits: HostLimits): KernelPlan<FloatData> {
  const dtype = floatDtypeOf(request.dtype)
  const count = floatLength('gate', request.gate, dtype)
  const upLength = floatLength('up', request.up, dtype)
  if (upLength !== count) {
    throw new KernelShapeError(`up.length (${upLength}) must equal gate.length (${count}).`)
  }
  const bytes = count * BYTES_PER_ELEMENT[dtype]
  assertBufferFits('gate', `${count}*${BYTES_PER_ELEMENT[dtype]}`, bytes, limits)
  assertBufferFits('output', `${count}*4`, count * 4, limits)
  const buffers: ProgramBuffer[] = []
  const gate = addInput(buffers, 'gate', request.gate)
  const up = addInput(buffers, 'up', request.up)
  const result = addFloatResult(buffers, 'y', count, dtype)
  return {
    program: {
      label: 'swiglu',
      buffers,
      outputs: [result.output],
      passes: [swigluPass({ gate, up, y: result.target, dtype, count }), ...result.finish],
    },
    decode: ([bytes]) => result.decode(bytes as ArrayBuffer),
  }
}
