import type { JobSpec } from '@tabswarm/protocol'
import type { KernelCompileMessage } from '@tabswarm/worker-kernels'
import { CoordinatorError } from '../coordinator-error.ts'

/**
 * Compiles WGSL without running it: `createWgslChecker()` of `@tabswarm/worker-kernels/node`
 * on a relay with a GPU adapter (dawn, SwiftShader included). Resolves with the compiler's
 * messages, or `undefined` when it could not check (no adapter, a check past its deadline).
 */
export type WgslCheck = (
  wgsl: string,
  options: { entryPoint: string; signal?: AbortSignal },
) => Promise<KernelCompileMessage[] | undefined>

/**
 * Refuse a custom job whose WGSL does not compile, naming each error's `line:column`, before
 * anything is escrowed or leased. Without this, the error shows only on contributors, and a
 * job fails only once two distinct contributors report it (one could be lying), so with one
 * contributor the researcher waits for a timeout. Where the check cannot run (`undefined`),
 * the job is accepted and that rule still applies; the contributors' reports carry the
 * compiler's `line:column` too.
 */
export async function refuseUncompilableWgsl(
  spec: JobSpec,
  check: WgslCheck | undefined,
): Promise<void> {
  if (check == null || spec.kernel !== 'custom') return
  const entryPoint = spec.program.entryPoint ?? 'main'
  const messages = await check(spec.program.wgsl, { entryPoint })
  const errors = messages?.filter((m) => m.type === 'error') ?? []
  if (errors.length === 0) return
  const listed = errors
    .slice(0, 5)
    .map((m) =>
      m.line > 0
        ? `${m.line}:${m.column}: ${m.message}`
        : `entry point "${entryPoint}": ${m.message.split('\n')[0]}`,
    )
    .join('; ')
  throw new CoordinatorError(
    'INVALID_JOB',
    `program.wgsl does not compile: ${listed}. Fix the kernel (each error is line:column in program.wgsl) and submit again.`,
  )
}
