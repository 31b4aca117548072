/**
 * Entry of the child process that owns a dawn device for `createKernelHostProcess`. It
 * exists so the device can be thrown away by killing a process: a dispatch that never
 * ends (an infinite loop in a researcher's WGSL) cannot be cancelled inside dawn, keeps
 * a core busy, and makes every later call on that device queue behind it.
 */
import { TabswarmError } from '../errors.ts'
import type { KernelHost } from '../host/kernel-host.ts'
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
  } else if (raw.type === 'cancel') {
    calls.get(raw.id)?.abort(new Error('Cancelled by the parent process.'))
  }
})
