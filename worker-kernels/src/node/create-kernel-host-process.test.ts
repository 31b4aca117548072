import { readdirSync, readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { compareMatmul } from '../compare/matmul-tolerance.ts'
import { KernelCompileError, KernelShapeError, KernelTimeoutError } from '../errors.ts'
import type { KernelHost } from '../host/kernel-host.ts'
import { matmulReferenceWithBound } from '../reference/matmul-reference.ts'
import { seededRandomF32 } from '../reference/seeded-random.ts'
import { createKernelHostProcess } from './create-kernel-host-process.ts'

// Real dawn (SwiftShader where there is no GPU) in a real child process.

/** A loop the compiler cannot prove finite: it only ends on an input no caller sends. */
const FOREVER_WGSL = `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(1) fn main() {
  var i = 0u;
  loop { i = i + 1u; if (x[0] < -1.0) { break; } y[0] = f32(i); }
}`

const TRIVIAL_WGSL = `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  if (g.x == 0u && g.y == 0u) { y[0] = x[0] + 1.0; }
}`

const oneInOneOut = {
  inputs: [{ name: 'x', dtype: 'float32' as const }],
  outputs: [{ name: 'y', dtype: 'float32' as const }],
}

/** Our child processes (pid and CPU seconds used so far), from /proc. */
function children(): Map<number, number> {
  const found = new Map<number, number>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const fields = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ')
      if (Number(fields[1]) !== process.pid || fields[0] === 'Z') continue
      found.set(Number(entry), (Number(fields[11]) + Number(fields[12])) / 100)
    } catch {
      // Gone between the listing and the read.
    }
  }
  return found
}

/** The innocent product of the issue: 64×48 · 48×40, which takes milliseconds. */
async function expectInnocentMatmul(host: KernelHost): Promise<number> {
  const [m, k, n] = [64, 48, 40]
  const a = seededRandomF32(m * k, 1)
  const b = seededRandomF32(k * n, 2)
  const { c, bound } = matmulReferenceWithBound(a, b, m, k, n)
  const started = performance.now()
  const actual = await host.run({ kernel: 'matmul', a, b, m, k, n }, { timeoutMs: 30_000 })
  const elapsed = performance.now() - started
  expect(compareMatmul(actual, c, { k, bound })).toMatchObject({ ok: true })
  return elapsed
}

describe('createKernelHostProcess', () => {
  let host: KernelHost
  const restarts: string[] = []

  beforeAll(async () => {
    host = await createKernelHostProcess({ graceMs: 500, onRestart: (why) => restarts.push(why) })
  })
  afterAll(() => host?.destroy())

  it('runs kernels in a child process with typed results and errors', async () => {
    await expectInnocentMatmul(host)
    expect(host.info.limits.maxComputeWorkgroupsPerDimension).toBeGreaterThan(0)
    await expect(
      host.run({
        kernel: 'matmul',
        a: new Float32Array(3),
        b: new Float32Array(3),
        m: 2,
        k: 2,
        n: 2,
      }),
    ).rejects.toThrow(KernelShapeError)
    const broken = host.run({
      kernel: 'custom',
      program: { wgsl: 'fn main( {', ...oneInOneOut },
      inputs: [new Float32Array(1)],
      outputs: [{ length: 1 }],
      workgroups: [1, 1, 1],
    })
    await expect(broken).rejects.toThrow(KernelCompileError)
    const err = (await broken.catch((e: unknown) => e)) as KernelCompileError
    expect(err.messages[0]).toMatchObject({ type: 'error', line: 1 })
    expect(err.message).toMatch(/1:\d+: error/)
    expect(restarts).toEqual([])
  })

  it.each([
    ['an infinite loop', FOREVER_WGSL, [1, 1, 1] as [number, number, number]],
    ['a 65535×65535 dispatch', TRIVIAL_WGSL, [65535, 65535, 1] as [number, number, number]],
  ])(
    'recovers from %s: the wedged process is killed and the next innocent call succeeds',
    async (_, wgsl, workgroups) => {
      const before = children()
      expect(before.size).toBe(1)
      const hostile = host.run(
        {
          kernel: 'custom',
          program: { wgsl, ...oneInOneOut },
          inputs: [new Float32Array(1)],
          outputs: [{ length: 1 }],
          workgroups,
        },
        { timeoutMs: 1_500 },
      )
      await expect(hostile).rejects.toThrow(KernelTimeoutError)
      expect(restarts.at(-1)).toMatch(/ran past its deadline/)
      // Without the restart, this product queues behind the endless dispatch and times out.
      // Within a fresh process's start-up (Node plus a dawn device: about 1 s, several on a
      // loaded 2-core machine), not the endless wait of a call queued behind the wedged dispatch.
      const elapsed = await expectInnocentMatmul(host)
      console.info(`innocent matmul after ${_}: ${Math.round(elapsed)} ms (restart included)`)
      expect(elapsed).toBeLessThan(30_000)
      // The wedged process is gone (no core left burning), and one fresh process took its place.
      const after = children()
      for (const pid of before.keys()) expect(after.has(pid)).toBe(false)
      expect(after.size).toBe(1)
    },
  )

  it('keeps its process through SIGINT and SIGTERM to the group, and kills it on destroy', async () => {
    const own = await createKernelHostProcess()
    const pids = [...children().keys()]
    for (const pid of pids) {
      process.kill(pid, 'SIGINT')
      process.kill(pid, 'SIGTERM')
    }
    await expectInnocentMatmul(own)
    own.destroy()
    await expect.poll(() => children().size, { timeout: 5_000 }).toBe(1)
  })
})
