import type { JobSpec, TabswarmClient } from '@tabswarm/sdk'

/**
 * A kernel of chosen length: one invocation iterates an LCG `spins[0]` times and writes its
 * state. Custom-kernel bindings: the input at binding 0, the output at binding 1.
 */
export const SPIN_WGSL = `
@group(0) @binding(0) var<storage, read> spins: array<u32>;
@group(0) @binding(1) var<storage, read_write> state: array<u32>;
@compute @workgroup_size(1)
fn main() {
  var x = 1u;
  for (var i = 0u; i < spins[0]; i++) { x = x * 1664525u + 1013904223u; }
  state[0] = x;
}`

/**
 * Nanoseconds one spin takes: about 35 on SwiftShader on the CI machine (dawn in Node and
 * Chromium alike). A real GPU runs the loop many times faster, and a test that must land a
 * Ctrl-C or a Stop mid-task would see the task end first: set `TABSWARM_TEST_SPIN_NS` to
 * that adapter's figure (a 1 s task of the default spins, timed, gives it).
 */
export const SPIN_NS = Number(process.env.TABSWARM_TEST_SPIN_NS ?? 35)

/** The spins that take about `ms` on this machine's adapter (a u32: at most 2^32 - 1). */
export function spinsLasting(ms: number): number {
  if (!(SPIN_NS > 0)) throw new Error(`TABSWARM_TEST_SPIN_NS must be a positive number`)
  return Math.min(Math.round((ms * 1e6) / SPIN_NS), 2 ** 32 - 1)
}

/**
 * A custom job of `tasks` spin tasks of about `ms` each (one upload, shared by all), one
 * result enough to accept a task: no replicas, spot checks or canaries to lengthen it.
 */
export async function spinJob(
  client: TabswarmClient,
  { tasks = 1, ms }: { tasks?: number; ms: number },
): Promise<JobSpec> {
  const input = await client.uploadTensor({
    shape: [1],
    data: Uint32Array.from([spinsLasting(ms)]),
  })
  return {
    kernel: 'custom',
    name: 'spin',
    program: {
      wgsl: SPIN_WGSL,
      inputs: [{ name: 'spins', dtype: 'uint32' }],
      outputs: [{ name: 'state', dtype: 'uint32' }],
    },
    tasks: Array.from({ length: tasks }, () => ({
      inputs: [input],
      outputs: [{ shape: [1], dtype: 'uint32' as const }],
      workgroups: [1, 1, 1] as [number, number, number],
    })),
    verification: { replication: 1, spotCheck: 0, canaries: 0 },
  }
}
