import { type ChildProcess, fork } from 'node:child_process'
import type { TabswarmError } from '@tabswarm/protocol'
import { DEFAULT_DEVICE_ACQUIRE_TIMEOUT_MS, DEFAULT_KERNEL_TIMEOUT_MS } from '../constants.ts'
import {
  DeviceLostError,
  deserializeError,
  GpuUnavailableError,
  KernelAbortedError,
  KernelTimeoutError,
} from '../errors.ts'
import { assertTimeoutMs, createCallDeadline, MAX_TIMEOUT_MS } from '../host/call-deadline.ts'
import type { KernelHost } from '../host/kernel-host.ts'
import type { DeviceLostDetails, HostInfo, KernelRunOptions } from '../host/kernel-types.ts'
import type { KernelRequest, KernelResult } from '../kernels/kernel-request.ts'
import type { NodeKernelHostOptions } from './create-node-kernel-host.ts'
import type {
  FromKernelProcess,
  KernelProcessHostOptions,
  ToKernelProcess,
} from './kernel-process-messages.ts'

/**
 * How long past a call's own deadline the parent waits for the kernel process to say so
 * before it kills the process itself: the process answers on its own event loop, which a
 * wedged dawn device does not block, so a short grace is enough.
 */
export const DEFAULT_KERNEL_PROCESS_GRACE_MS = 2_000

/** Options of `createKernelHostProcess`: the Node host's, plus how the process is managed. */
export type KernelHostProcessOptions = NodeKernelHostOptions & {
  /**
   * Extra milliseconds the parent waits past a call's deadline before it kills the kernel
   * process on its own.
   * @default DEFAULT_KERNEL_PROCESS_GRACE_MS (2 s)
   */
  graceMs?: number
  /**
   * Most milliseconds a kernel process may take to start and acquire its device.
   * @default the host's `acquireTimeoutMs` (30 s) plus 10 s for Node to start
   */
  startTimeoutMs?: number
  /**
   * Told each time the kernel process is killed and replaced, with why: a call that ran
   * past its deadline or was cancelled (its dispatch may still be running and nothing else
   * can stop it), or a process that died.
   */
  onRestart?: (reason: string) => void
}

type Pending = { resolve: (value: unknown) => void; reject: (err: TabswarmError) => void }

/** One kernel process and what waits on it. */
type KernelProcess = {
  child: ChildProcess
  ready: Promise<HostInfo>
  readySettled: boolean
  pending: Map<number, Pending>
}

const ENTRY = new URL('./kernel-process-main.ts', import.meta.url)

/**
 * A `KernelHost` whose device lives in a child process, so a kernel that never ends can be
 * stopped: WebGPU cannot cancel a submitted dispatch, and dawn keeps running it (a core
 * busy, every later call on that device queued behind it) until the process dies.
 * A call that runs past its deadline, or is cancelled, kills the process with SIGKILL
 * (`worker_threads`' `terminate()` does not return while dawn is busy) and starts a fresh
 * one at once, so the next call gets a new device. Errors keep their types.
 *
 * @example
 * const host = await createKernelHostProcess({ timeoutMs: 30_000 })
 * const c = await host.run({ kernel: 'matmul', a, b, m, k, n }, { signal })
 * host.destroy()
 */
export async function createKernelHostProcess(
  options: KernelHostProcessOptions = {},
): Promise<KernelHost> {
  const {
    onDeviceLost,
    onRestart,
    graceMs: graceOption,
    startTimeoutMs: startOption,
    ...rest
  } = options
  const hostOptions: KernelProcessHostOptions = rest
  const defaultTimeoutMs = options.timeoutMs ?? DEFAULT_KERNEL_TIMEOUT_MS
  const graceMs = graceOption ?? DEFAULT_KERNEL_PROCESS_GRACE_MS
  const startTimeoutMs =
    startOption ??
    Math.min(
      (options.acquireTimeoutMs ?? DEFAULT_DEVICE_ACQUIRE_TIMEOUT_MS) + 10_000,
      MAX_TIMEOUT_MS,
    )
  assertTimeoutMs(defaultTimeoutMs)
  assertTimeoutMs(startTimeoutMs, 'startTimeoutMs')
  if (!(graceMs >= 0 && graceMs <= MAX_TIMEOUT_MS)) {
    throw new RangeError(`graceMs must be from 0 to ${MAX_TIMEOUT_MS}, got ${graceMs}.`)
  }
  let destroyed = false
  let current: KernelProcess | undefined
  let info: HostInfo | undefined
  let nextId = 0

  /** The IPC channel holds the parent's event loop only while someone waits on the process. */
  const holdLoop = (p: KernelProcess): void => {
    if (p.pending.size > 0 || !p.readySettled) p.child.channel?.ref()
    else p.child.channel?.unref()
  }

  /** Kill `p` (if still alive) and fail whatever waits on it with `err`. */
  const kill = (p: KernelProcess, err: TabswarmError): void => {
    if (current === p) current = undefined
    p.child.kill('SIGKILL')
    for (const waiter of p.pending.values()) waiter.reject(err)
    p.pending.clear()
  }

  const start = (): KernelProcess => {
    const child = fork(ENTRY, [], {
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // An inspector flag would make the child fight the parent for the debug port.
      execArgv: process.execArgv.filter((arg) => !arg.startsWith('--inspect')),
    })
    child.unref()
    const pending = new Map<number, Pending>()
    let settleReady: { resolve: (info: HostInfo) => void; reject: (err: TabswarmError) => void } = {
      resolve: () => {},
      reject: () => {},
    }
    const ready = new Promise<HostInfo>((resolve, reject) => {
      settleReady = { resolve, reject }
    })
    ready.catch(() => {})
    const p: KernelProcess = { child, ready, readySettled: false, pending }
    const settle = (outcome: { info: HostInfo } | { error: TabswarmError }): void => {
      if (p.readySettled) return
      p.readySettled = true
      clearTimeout(startTimer)
      holdLoop(p)
      if ('info' in outcome) settleReady.resolve(outcome.info)
      else settleReady.reject(outcome.error)
    }
    const startTimer = setTimeout(() => {
      const err = new GpuUnavailableError(
        `The kernel process did not acquire a GPU within ${startTimeoutMs} ms.`,
        { details: 'The driver may be wedged; the next call starts another process.' },
      )
      settle({ error: err })
      kill(p, err)
    }, startTimeoutMs)
    startTimer.unref()
    child.on('message', (message: FromKernelProcess) => {
      switch (message.type) {
        case 'ready':
          info = message.info
          settle({ info: message.info })
          break
        case 'init-failed': {
          const err = deserializeError(message.error)
          settle({ error: err })
          kill(p, err)
          break
        }
        case 'result':
          pending.get(message.id)?.resolve(message.value)
          break
        case 'error':
          pending.get(message.id)?.reject(deserializeError(message.error))
          break
        case 'device-lost':
          callDeviceLost(message.details)
          break
        case 'checked':
          // Compile checks are `createWgslChecker`'s; this process is never sent one.
          break
      }
    })
    child.on('error', (cause) => {
      const err = new GpuUnavailableError('The kernel process could not be started.', { cause })
      settle({ error: err })
      kill(p, err)
    })
    child.on('exit', (code, signal) => {
      if (current !== p) return
      // Not killed by us: a crash (dawn aborts the process on some driver faults).
      const message = `The kernel process exited unexpectedly (${signal ?? `code ${code}`}).`
      const err = new DeviceLostError(message, { details: 'The next call starts another one.' })
      settle({ error: err })
      kill(p, err)
      callDeviceLost({ reason: 'unknown', message })
    })
    child.send({ type: 'init', options: hostOptions } satisfies ToKernelProcess)
    return p
  }

  const callDeviceLost = (details: DeviceLostDetails): void => {
    try {
      onDeviceLost?.(details)
    } catch (err) {
      ;(globalThis as { reportError?: (err: unknown) => void }).reportError?.(err)
    }
  }

  /** Throw the process away and start the next one now, so the next call finds it ready. */
  const restart = (p: KernelProcess, reason: string): void => {
    kill(p, new DeviceLostError(`The kernel process was restarted: ${reason}`))
    if (destroyed) return
    current = start()
    try {
      onRestart?.(reason)
    } catch (err) {
      ;(globalThis as { reportError?: (err: unknown) => void }).reportError?.(err)
    }
  }

  const processNow = (): KernelProcess => {
    current ??= start()
    return current
  }

  const first = processNow()
  try {
    info = await first.ready
  } catch (err) {
    destroyed = true
    kill(first, err as TabswarmError)
    throw err
  }

  const run = async (
    request: KernelRequest,
    runOptions: KernelRunOptions,
  ): Promise<KernelResult> => {
    if (destroyed) throw new KernelAbortedError('Kernel host was destroyed.')
    const timeoutMs = runOptions.timeoutMs ?? defaultTimeoutMs
    assertTimeoutMs(timeoutMs)
    const startedAt = performance.now()
    const deadline = createCallDeadline({
      signal: runOptions.signal,
      timeoutMs:
        timeoutMs === Number.POSITIVE_INFINITY
          ? timeoutMs
          : Math.min(timeoutMs + graceMs, MAX_TIMEOUT_MS),
      timeoutError: () =>
        new KernelTimeoutError(
          `Kernel call exceeded its ${timeoutMs} ms deadline (the kernel process did not answer).`,
        ),
    })
    let p: KernelProcess | undefined
    let id: number | undefined
    try {
      const attempt = processNow()
      // A process that failed to start is dropped so the next call tries a new one.
      await deadline.race(attempt.ready).catch((err: unknown) => {
        if (!deadline.cancelled && current === attempt) current = undefined
        throw err
      })
      p = attempt
      const callId = nextId++
      id = callId
      const pendingIn = attempt.pending
      const answer = new Promise<unknown>((resolve, reject) => {
        pendingIn.set(callId, { resolve, reject })
      })
      holdLoop(attempt)
      const left =
        timeoutMs === Number.POSITIVE_INFINITY
          ? timeoutMs
          : Math.max(1, Math.round(timeoutMs - (performance.now() - startedAt)))
      attempt.child.send({
        type: 'run',
        id: callId,
        request,
        timeoutMs: left,
      } satisfies ToKernelProcess)
      return (await deadline.race(answer)) as KernelResult
    } catch (err) {
      const tabswarmErr = err as TabswarmError
      // A call that ran out of time, or was given up on, may have left a dispatch running on
      // the device that nothing but the end of the process stops.
      if (p && (deadline.cancelled || tabswarmErr.code === 'KERNEL_TIMEOUT')) {
        const why = deadline.cancelled ?? tabswarmErr
        restart(
          p,
          `a call ${why.code === 'KERNEL_TIMEOUT' ? 'ran past its deadline' : 'was cancelled'} (${why.message.split('\n')[0]})`,
        )
      }
      throw err
    } finally {
      deadline.dispose()
      if (p && id !== undefined) {
        p.pending.delete(id)
        holdLoop(p)
      }
    }
  }

  return {
    get info() {
      return info as HostInfo
    },
    run(request, runOptions = {}) {
      return run(request, runOptions) as Promise<never>
    },
    destroy() {
      destroyed = true
      if (current) kill(current, new KernelAbortedError('Kernel host was destroyed.'))
    },
  }
}
