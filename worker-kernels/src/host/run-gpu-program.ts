import { TabswarmError } from '@tabswarm/protocol'
import { KernelExecutionError } from '../errors.ts'
import type { CallDeadline } from './call-deadline.ts'
import type { DeviceSession } from './device-session.ts'
import type { GridDispatch } from './dispatch-grid.ts'
import type { GpuPacer } from './gpu-pacer.ts'
import { type GpuProgram, GRID_HEADER_BYTES, type ProgramPass } from './gpu-program.ts'
import type { CompiledPipeline } from './pipeline-cache.ts'
import { type PlannedDispatch, planSubmissions } from './submission-plan.ts'

/** A duty cycle for one call: see `gpu-pacer.ts`. */
export type GpuPacing = {
  /** Share of the GPU's time this call may keep it busy, from `MIN_GPU_SHARE` to 1. */
  share: number
  /** The device's pacer: its rests and measured rates carry across calls. */
  pacer: GpuPacer
}

/** Options of `runGpuProgram`. */
export type RunGpuProgramOptions = {
  session: DeviceSession
  program: GpuProgram
  deadline: CallDeadline
  /** Most workgroups per axis in one dispatch. */
  maxWorkgroupsPerDimension: number
  /**
   * Most work (in the passes' `workPerWorkgroup` units, FLOP-like) per dispatch and per
   * submission: bounds how long the GPU runs any one of them.
   */
  maxWorkPerSubmission: number
  /**
   * Run paced: one submission in flight, each sized to about `SUBMISSION_TARGET_MS` from
   * the program's measured rate (instead of `maxWorkPerSubmission`, which still bounds a
   * single workgroup), timed with `onSubmittedWorkDone`, and a rest before the next one so
   * the GPU is busy `share` of the time. Without it, submissions run back to back.
   */
  pacing?: GpuPacing | undefined
}

const align = (value: number, to: number): number => Math.ceil(value / to) * to

function describeGpuError(error: GPUError | null | undefined): string | undefined {
  return error ? `${error.constructor.name}: ${error.message}` : undefined
}

/** Bytes of a view, padded with zeros to a multiple of 4 as `writeBuffer` requires. */
function uploadBytes(data: ArrayBufferView): ArrayBufferView<ArrayBuffer> {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  if (data.byteLength % 4 === 0 && data.buffer instanceof ArrayBuffer) {
    return bytes as Uint8Array<ArrayBuffer>
  }
  const padded = new Uint8Array(align(data.byteLength, 4))
  padded.set(bytes)
  return padded
}

/**
 * Submissions queued on the GPU at once. Each one is within the work budget; waiting
 * for the one before the last keeps the GPU fed while the next is encoded, and bounds
 * what still runs after an abort or a deadline to two budgets' worth.
 */
export const MAX_SUBMISSIONS_IN_FLIGHT = 2

/**
 * How long a failed call waits for `device.lost` before blaming something else:
 * browsers reject a pending `mapAsync` when the device goes, sometimes before they
 * settle `device.lost`, and the caller must see `DeviceLostError`, not a read failure.
 */
const LOSS_SETTLE_MS = 500

/**
 * Run a planned program: compile (cached) its pipelines, upload inputs, encode its
 * passes as dispatches grouped into submissions within the work budget (see
 * `planSubmissions`), read the outputs back. At most `MAX_SUBMISSIONS_IN_FLIGHT`
 * submissions are queued at a time and the deadline is checked between them, so an
 * abort or timeout stops the work still to be queued. Every wait races the call's
 * deadline and device loss. Buffers come from the session's pool and go back to it
 * only after a clean run; after any failure they are destroyed, since the GPU or a
 * pending map may still hold them.
 */
export async function runGpuProgram({
  session,
  program,
  deadline,
  maxWorkgroupsPerDimension,
  maxWorkPerSubmission,
  pacing,
}: RunGpuProgramOptions): Promise<ArrayBuffer[]> {
  const { device, pool } = session
  const waitFor = <T>(work: Promise<T>): Promise<T> =>
    deadline.race(Promise.race([work, session.lost]))
  /** Names the program's shaders, whose measured rate sizes its paced submissions. */
  const rateKey = program.passes.map((pass) => pass.key).join('+')
  // Paced, the budget is time: the program's rate times the target. A workgroup cannot be
  // split, so the budget is never below the largest one the host allows (a larger one is
  // refused below, as unpaced).
  const largestWorkgroup = Math.max(0, ...program.passes.map((pass) => pass.workPerWorkgroup))
  const budget = pacing
    ? Math.max(
        pacing.pacer.workPerSubmission(rateKey),
        Math.min(largestWorkgroup, maxWorkPerSubmission),
      )
    : maxWorkPerSubmission
  // Refuses an unsplittable pass before anything is compiled or allocated.
  const plan = planSubmissions(program, {
    maxWorkgroupsPerDimension,
    maxWorkPerSubmission: budget,
  })
  const workOf = (submission: PlannedDispatch[]): number =>
    submission.reduce(
      (sum, { pass, dispatch: { count } }) =>
        sum +
        (program.passes[pass] as ProgramPass).workPerWorkgroup * count[0] * count[1] * count[2],
      0,
    )
  /** A rest the deadline (an abort, a timeout) cuts short. */
  const rest = (ms: number): Promise<void> => {
    let timer: ReturnType<typeof setTimeout> | undefined
    return deadline
      .race(
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, ms)
        }),
      )
      .finally(() => clearTimeout(timer))
  }

  const pipelines: CompiledPipeline[] = await waitFor(
    Promise.all(
      program.passes.map((pass) =>
        session.pipelines.get({
          key: pass.key,
          label: pass.label,
          code: pass.code,
          entryPoint: pass.entryPoint ?? 'main',
          reads: pass.reads.length,
          writes: pass.writes.length,
          uniform: pass.uniform !== 'none',
        }),
      ),
    ),
  )

  const held: GPUBuffer[] = []
  let clean = false
  const acquire = (label: string, bytes: number, usage: GPUBufferUsageFlags): GPUBuffer => {
    const buffer = pool.acquire(`tabswarm-${program.label}-${label}`, bytes, usage)
    held.push(buffer)
    return buffer
  }
  const storage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC
  /** Validation and out-of-memory errors of every submission, in order. */
  const scopes: Promise<GPUError | null>[] = []
  /** Run `encode` inside its own error scopes: pushed and popped with no await between, so concurrent calls on the device never pop each other's. */
  const scoped = (encode: () => void): void => {
    device.pushErrorScope('out-of-memory')
    device.pushErrorScope('validation')
    try {
      encode()
    } finally {
      const validation = device.popErrorScope()
      const outOfMemory = device.popErrorScope()
      validation.catch(() => {})
      outOfMemory.catch(() => {})
      scopes.push(validation, outOfMemory)
    }
  }

  try {
    deadline.throwIfCancelled()
    const sizes = program.buffers.map((spec) =>
      Math.max(4, align(spec.kind === 'input' ? spec.data.byteLength : spec.bytes, 4)),
    )
    const stride = device.limits.minUniformBufferOffsetAlignment
    const maxUniform = Math.max(16, ...plan.uniformBytes)
    let buffers: GPUBuffer[] = []
    let uniforms: GPUBuffer | undefined
    scoped(() => {
      buffers = program.buffers.map((spec, i) => {
        const buffer = acquire(spec.label, sizes[i] as number, storage)
        if (spec.kind === 'input') device.queue.writeBuffer(buffer, 0, uploadBytes(spec.data))
        return buffer
      })
      // One uniform buffer for every dispatch of every pass, each at an aligned offset.
      if (plan.uniformSlots > 0) {
        uniforms = acquire(
          'uniforms',
          stride * (plan.uniformSlots - 1) + maxUniform,
          GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
        )
      }
    })
    const storageEntries = program.passes.map((pass) =>
      [...pass.reads, ...pass.writes].map(
        (index, binding): GPUBindGroupEntry => ({
          binding,
          resource: { buffer: buffers[index] as GPUBuffer, size: sizes[index] as number },
        }),
      ),
    )

    const readbacks: { buffer: GPUBuffer; bytes: number }[] = []
    const queued: Promise<undefined>[] = []
    const last = plan.submissions.length - 1
    for (const [s, submission] of plan.submissions.entries()) {
      // Keep at most MAX_SUBMISSIONS_IN_FLIGHT queued (one, paced); an abort surfaces here.
      while (queued.length >= (pacing ? 1 : MAX_SUBMISSIONS_IN_FLIGHT))
        await waitFor(queued.shift() as Promise<undefined>)
      if (pacing) {
        const owed = pacing.pacer.restBeforeNextMs(pacing.share, performance.now())
        if (owed > 0) await rest(owed)
      }
      deadline.throwIfCancelled()
      const submittedAt = performance.now()
      scoped(() => {
        const encoder = device.createCommandEncoder({ label: `tabswarm-${program.label}` })
        if (s === 0 && program.zeroOutputs) {
          program.buffers.forEach((spec, i) => {
            if (spec.kind !== 'input') encoder.clearBuffer(buffers[i] as GPUBuffer)
          })
        }
        for (const { pass: p, dispatch, uniformSlot } of submission) {
          const pass = program.passes[p] as ProgramPass
          const { pipeline, layout } = pipelines[p] as CompiledPipeline
          const entries = [...(storageEntries[p] as GPUBindGroupEntry[])]
          const uniformBytes = plan.uniformBytes[p] as number
          if (uniforms && uniformSlot >= 0) {
            const offset = uniformSlot * stride
            device.queue.writeBuffer(uniforms, offset, uniformData(pass, dispatch, uniformBytes))
            entries.push({
              binding: entries.length,
              resource: { buffer: uniforms, offset, size: uniformBytes },
            })
          }
          const computePass = encoder.beginComputePass({ label: pass.label })
          computePass.setPipeline(pipeline)
          computePass.setBindGroup(0, device.createBindGroup({ layout, entries }))
          computePass.dispatchWorkgroups(...dispatch.count)
          computePass.end()
        }
        if (s === last) {
          for (const index of program.outputs) {
            const bytes = sizes[index] as number
            const buffer = acquire(
              'readback',
              bytes,
              GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
            )
            encoder.copyBufferToBuffer(buffers[index] as GPUBuffer, 0, buffer, 0, bytes)
            const spec = program.buffers[index]
            readbacks.push({ buffer, bytes: spec && spec.kind !== 'input' ? spec.bytes : 0 })
          }
        }
        device.queue.submit([encoder.finish()])
      })
      if (pacing) {
        // Alone on the queue, so submit to done is the time it kept the GPU busy.
        const work = workOf(submission)
        const done = device.queue.onSubmittedWorkDone().then(() => {
          const doneAt = performance.now()
          pacing.pacer.record(rateKey, work, doneAt - submittedAt, doneAt)
          return undefined
        })
        done.catch(() => {})
        queued.push(done)
      } else if (s < last) {
        const done = device.queue.onSubmittedWorkDone()
        done.catch(() => {})
        queued.push(done)
      }
    }

    const mapped = Promise.all(readbacks.map(({ buffer }) => buffer.mapAsync(GPUMapMode.READ)))
    // Abandoned when the scopes wait fails (loss, deadline): mark it handled.
    mapped.catch(() => {})
    const errors = await waitFor(Promise.all(scopes))
    const failure = errors.find((error) => error !== null)
    if (failure) {
      throw new KernelExecutionError(`The ${program.label} kernel failed on the GPU.`, {
        details: describeGpuError(failure) ?? '',
      })
    }
    try {
      await waitFor(mapped)
    } catch (cause) {
      if (cause instanceof TabswarmError) throw cause
      throw await lossBehindReadback(session, deadline, program.label, cause)
    }
    // Paced: the last submission's time is recorded before the next call asks for its rest.
    if (pacing) await waitFor(Promise.all(queued))
    // Copy out of the mapped range: it is detached on unmap.
    const results = readbacks.map(({ buffer, bytes }) => {
      const copy = buffer.getMappedRange(0, align(bytes, 4)).slice(0, bytes)
      buffer.unmap()
      return copy
    })
    clean = true
    return results
  } catch (cause) {
    // A loss already seen explains whatever failed after it.
    throw session.lostError() ?? cause
  } finally {
    for (const buffer of held) {
      if (clean) pool.release(buffer)
      else buffer.destroy()
    }
  }
}

/** The grid header (this dispatch's offset) and the pass's params, as its uniform bytes. */
function uniformData(
  pass: ProgramPass,
  dispatch: GridDispatch,
  bytes: number,
): Uint8Array<ArrayBuffer> {
  const data = new Uint8Array(bytes)
  let at = 0
  if (pass.uniform === 'grid') {
    data.set(new Uint8Array(new Uint32Array([...dispatch.offset, 0]).buffer))
    at = GRID_HEADER_BYTES
  }
  if (pass.params) {
    const { buffer, byteOffset, byteLength } = pass.params
    data.set(new Uint8Array(buffer, byteOffset, byteLength), at)
  }
  return data
}

/**
 * The error a failed read-back should report. Browsers reject a pending `mapAsync` when
 * the device goes, sometimes before they settle `device.lost`: wait up to
 * `LOSS_SETTLE_MS` for the loss so the caller sees `DeviceLostError`, else report the
 * read-back failure. Only this failure waits: a validation or out-of-memory error on a
 * healthy device is reported at once. A cancellation during the wait wins.
 */
async function lossBehindReadback(
  session: DeviceSession,
  deadline: CallDeadline,
  label: string,
  cause: unknown,
): Promise<TabswarmError> {
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    const lost = await deadline.race(
      Promise.race([
        session.lost.catch((err: TabswarmError) => err),
        new Promise<undefined>((resolve) => {
          timer = setTimeout(() => resolve(undefined), LOSS_SETTLE_MS)
        }),
      ]),
    )
    return lost ?? new KernelExecutionError(`Reading the ${label} result back failed.`, { cause })
  } catch (cancelled) {
    return cancelled as TabswarmError
  } finally {
    clearTimeout(timer)
  }
}
