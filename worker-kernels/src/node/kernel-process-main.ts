/**
 * Entry of the child process that owns a dawn device for `createKernelHostProcess`. It
 * exists so the device can be thrown away by killing a process: a dispatch that never
 * ends (an infinite loop in a researcher's WGSL) cannot be cancelled inside dawn, keeps
 * a core busy, and makes every later call on that device queue behind it.
 */

import { TabswarmError } from '@tabswarm/protocol'
import { GpuUnavailableError, type KernelCompileMessage } from '../errors.ts'
import type { KernelHost } from '../host/kernel-host.ts'
import { createNodeGpu } from './create-node-gpu.ts'
import { createNodeKernelHost } from './create-node-kernel-host.ts'
import type { FromKernelProcess, ToKernelProcess } from './kernel-process-messages.ts'

const send = (message: FromKernelProcess): void => {
  process.send?.(message)
}

// Only the parent decides when this process ends. Ctrl-C in a terminal reaches the whole
// process group: the parent drains and still needs its GPU for the task in flight.
process.on('SIGINT', () => {})
process.on('SIGTERM', () => {})
// Parent gone (exited, crashed, SIGKILLed): SIGKILL ourselves rather than `process.exit()`,
// whose teardown of a dawn device with a wedged dispatch can wait forever.
process.on('disconnect', () => process.kill(process.pid, 'SIGKILL'))

let host: KernelHost | undefined
const calls = new Map<number, AbortController>()
/** A plain device for compile checks, apart from any kernel host: nothing is ever dispatched on it. */
let checkDevice: Promise<GPUDevice> | undefined
/**
 * Dawn's instance, held for the life of the process: once garbage-collected, its adapters
 * and devices crash the process (measured: a segfault on the next compile).
 */
let checkGpu: GPU | undefined

async function compileMessages(wgsl: string, entryPoint: string): Promise<KernelCompileMessage[]> {
  checkDevice ??= (async () => {
    checkGpu ??= createNodeGpu()
    const adapter = await checkGpu.requestAdapter()
    if (!adapter) throw new GpuUnavailableError('No WebGPU adapter to check WGSL with.')
    return adapter.requestDevice({ label: 'tabswarm-wgsl-check' })
  })()
  const device = await checkDevice
  device.pushErrorScope('validation')
  const module = device.createShaderModule({ label: 'wgsl-check', code: wgsl })
  const scope = device.popErrorScope()
  const info = await module.getCompilationInfo()
  await scope
  const messages: KernelCompileMessage[] = [...info.messages].map((m) => ({
    type: m.type,
    message: m.message,
    line: m.lineNum,
    column: m.linePos,
  }))
  if (messages.some((m) => m.type === 'error')) return messages
  // Compiles: the entry point must exist and be a compute shader. 'auto' layout, because the
  // researcher's bindings are checked against their declaration by the contributors' host.
  try {
    await device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint } })
  } catch (err) {
    messages.push({ type: 'error', message: (err as Error).message, line: 0, column: 0 })
  }
  return messages
}

process.on('message', (raw: ToKernelProcess) => {
  if (raw.type === 'init') {
    createNodeKernelHost({
      ...raw.options,
      onDeviceLost: (details) => send({ type: 'device-lost', details }),
    }).then(
      (created) => {
        host = created
        send({ type: 'ready', info: created.info })
      },
      (err: unknown) => send({ type: 'init-failed', error: TabswarmError.serialize(err) }),
    )
  } else if (raw.type === 'run') {
    const controller = new AbortController()
    calls.set(raw.id, controller)
    const running =
      host == null
        ? Promise.reject(new Error('The kernel process got a call before its host was ready.'))
        : host.run(raw.request, { signal: controller.signal, timeoutMs: raw.timeoutMs })
    running
      .then(
        (value) => send({ type: 'result', id: raw.id, value }),
        (err: unknown) => send({ type: 'error', id: raw.id, error: TabswarmError.serialize(err) }),
      )
      .finally(() => calls.delete(raw.id))
  } else if (raw.type === 'check') {
    compileMessages(raw.wgsl, raw.entryPoint).then(
      (messages) => send({ type: 'checked', id: raw.id, messages }),
      (err: unknown) => send({ type: 'error', id: raw.id, error: TabswarmError.serialize(err) }),
    )
  } else if (raw.type === 'cancel') {
    calls.get(raw.id)?.abort(new Error('Cancelled by the parent process.'))
  }
})
