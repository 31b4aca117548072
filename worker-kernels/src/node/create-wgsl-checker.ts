import { type ChildProcess, fork } from 'node:child_process'
import { deserializeError, type KernelCompileMessage } from '../errors.ts'
import type { FromKernelProcess, ToKernelProcess } from './kernel-process-messages.ts'

/** Longest one compile check may take before it counts as "could not check". */
export const DEFAULT_WGSL_CHECK_TIMEOUT_MS = 15_000

/** How long a checker that found no GPU waits before it tries to find one again. */
export const WGSL_CHECK_RETRY_MS = 5 * 60_000

/** Options of `createWgslChecker`. */
export type WgslCheckerOptions = {
  /**
   * Most milliseconds one check may take, start-up of the checking process included.
   * @default DEFAULT_WGSL_CHECK_TIMEOUT_MS (15 s)
   */
  timeoutMs?: number
}

/** Options of one `WgslChecker.check`. */
export type WgslCheckOptions = {
  /** @default 'main' */
  entryPoint?: string
  signal?: AbortSignal
}

/** Compiles researchers' WGSL on a real device, in a child process, without running it. */
export type WgslChecker = {
  /**
   * The compiler's messages for `wgsl` (`[]` when it compiles cleanly; an error at line 0
   * when the entry point is missing), or `undefined` when it could not be checked: no GPU
   * adapter here, a check past its deadline, or a checking process that died. Never rejects.
   */
  check(wgsl: string, options?: WgslCheckOptions): Promise<KernelCompileMessage[] | undefined>
  /** Kill the checking process. Later checks start another. */
  close(): void
}

const ENTRY = new URL('./kernel-process-main.ts', import.meta.url)

/**
 * A WGSL compile check for a relay, so that a kernel that cannot compile is refused at
 * submit with the compiler's line and column, instead of failing on contributors (where,
 * with one contributor, nobody could tell a broken kernel from a lying contributor). Runs
 * in a child process that is SIGKILLed at the deadline: a compiler that hangs or crashes
 * on hostile source costs a check, never the relay. Where there is no GPU adapter it says
 * so (`undefined`), and callers fall back to what contributors report.
 *
 * @example
 * const checker = createWgslChecker()
 * const messages = await checker.check(spec.program.wgsl)
 * if (messages?.some((m) => m.type === 'error')) refuse(messages)
 */
export function createWgslChecker(options: WgslCheckerOptions = {}): WgslChecker {
  const timeoutMs = options.timeoutMs ?? DEFAULT_WGSL_CHECK_TIMEOUT_MS
  let child: ChildProcess | undefined
  let unavailableUntil = 0
  let nextId = 0
  const waiting = new Map<number, (message: FromKernelProcess | undefined) => void>()

  const stop = (): void => {
    child?.kill('SIGKILL')
    child = undefined
    for (const wake of waiting.values()) wake(undefined)
    waiting.clear()
  }

  const processNow = (): ChildProcess => {
    if (child) return child
    const started = fork(ENTRY, [], {
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
      execArgv: process.execArgv.filter((arg) => !arg.startsWith('--inspect')),
    })
    // The relay's event loop is not held up by an idle checker.
    started.unref()
    started.channel?.unref()
    started.on('message', (message: FromKernelProcess) => {
      if (message.type === 'checked' || message.type === 'error') waiting.get(message.id)?.(message)
    })
    started.on('exit', () => {
      if (child === started) stop()
    })
    started.on('error', () => {
      if (child === started) stop()
    })
    child = started
    return started
  }

  return {
    async check(wgsl, checkOptions = {}) {
      if (Date.now() < unavailableUntil || checkOptions.signal?.aborted) return undefined
      const proc = processNow()
      const id = nextId++
      proc.channel?.ref()
      let timer: ReturnType<typeof setTimeout> | undefined
      const onAbort = () => waiting.get(id)?.(undefined)
      try {
        const answer = new Promise<FromKernelProcess | undefined>((resolve) => {
          waiting.set(id, resolve)
        })
        timer = setTimeout(() => {
          // A compile past its deadline: the process may be stuck in the compiler.
          if (child === proc) stop()
        }, timeoutMs)
        checkOptions.signal?.addEventListener('abort', onAbort, { once: true })
        proc.send({
          type: 'check',
          id,
          wgsl,
          entryPoint: checkOptions.entryPoint ?? 'main',
        } satisfies ToKernelProcess)
        const message = await answer
        if (message?.type === 'checked') return message.messages
        if (
          message?.type === 'error' &&
          deserializeError(message.error).code === 'GPU_UNAVAILABLE'
        ) {
          unavailableUntil = Date.now() + WGSL_CHECK_RETRY_MS
          stop()
        }
        return undefined
      } finally {
        clearTimeout(timer)
        checkOptions.signal?.removeEventListener('abort', onAbort)
        waiting.delete(id)
        if (waiting.size === 0) child?.channel?.unref()
      }
    },
    close: stop,
  }
}
