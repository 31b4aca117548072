import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { checkRunJobSize, runJobSpec } from './run-job-spec.ts'
import { loadRunSpec } from './run-spec.ts'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'run-spec-'))
  await writeFile(join(dir, 'k.wgsl'), '@compute @workgroup_size(1) fn main() {}')
  await mkdir(join(dir, 'in'))
  for (const name of ['b-10.npy', 'b-2.npy', 'notes.txt'])
    await writeFile(join(dir, 'in', name), '')
})
afterEach(() => rm(dir, { recursive: true, force: true }))

const base = {
  wgsl: 'k.wgsl',
  inputs: 'in',
  output: { dtype: 'float32', shape: 'input' },
  workgroups: [1, 1, 1],
}
async function load(spec: unknown) {
  await writeFile(join(dir, 'spec.json'), JSON.stringify(spec))
  return loadRunSpec(join(dir, 'spec.json'))
}

describe('loadRunSpec', () => {
  it('resolves paths against the spec, lists .npy inputs in natural order, defaults the rest', async () => {
    const spec = await load(base)
    expect(spec.inputFiles).toEqual([join(dir, 'in', 'b-2.npy'), join(dir, 'in', 'b-10.npy')])
    expect(spec.wgslSource).toContain('fn main')
    expect(spec.entryPoint).toBe('main')
    expect(spec.outputDir).toBe(join(dir, 'out'))
  })

  it.each([
    [{ ...base, wgsl: 'missing.wgsl' }, /wgsl: cannot read .*missing.wgsl \(ENOENT\)/],
    [{ ...base, inputs: 'nowhere' }, /inputs: cannot read .*nowhere \(ENOENT\)/],
    [{ ...base, output: { dtype: 'float64', shape: 'input' } }, /output.dtype: /],
    [{ ...base, workgroups: [0, 1, 1] }, /workgroups/],
    [{ ...base, entryPoint: 'main; rm -rf' }, /entryPoint/],
    [{ ...base, extra: 1 }, /extra|Unrecognized/i],
    [{ ...base, inputs: ['x/a.npy', 'y/a.npy'] }, /two inputs are named a.npy/],
  ])('refuses a bad spec by field: %o', async (spec, message) => {
    await expect(load(spec)).rejects.toThrow(message)
  })

  it('refuses a spec that is not JSON, or a directory without .npy files', async () => {
    await writeFile(join(dir, 'spec.json'), '{ nope')
    await expect(loadRunSpec(join(dir, 'spec.json'))).rejects.toThrow(/not valid JSON/)
    await mkdir(join(dir, 'empty'))
    await expect(load({ ...base, inputs: 'empty' })).rejects.toThrow(/no .npy files/)
  })
})

describe('the job tabswarm run submits', () => {
  const header = (n: number) => ({
    dtype: 'float32' as const,
    shape: [n],
    dataOffset: 128,
    dataBytes: 4 * n,
  })
  const loaded = {
    wgslSource: '@compute @workgroup_size(64) fn main() {}',
    entryPoint: 'main',
    inputFiles: [],
    output: { dtype: 'float32' as const, shape: 'input' as const },
    workgroups: { elementsPerWorkgroup: 64 },
    outputDir: '/tmp/out',
  }

  it('sizes each task from its input header', () => {
    const job = runJobSpec(loaded, [header(100), header(64)], 10, (i) => `${i}`.padStart(64, '0'))
    expect(job.budget).toBe(10)
    expect(job.tasks.map((t) => t.workgroups)).toEqual([
      [2, 1, 1],
      [1, 1, 1],
    ])
    expect(job.tasks[0]!.outputs).toEqual([{ shape: [100], dtype: 'float32' }])
  })

  it("refuses, before uploading, more inputs than the relay's JSON limit takes", () => {
    const many = Array.from({ length: 30_000 }, () => header(4096))
    expect(() => checkRunJobSize(loaded, many, undefined)).toThrow(
      /30000 inputs make a job spec of [\d.]+ MiB; the relay takes at most 4 MiB: split them into runs of at most \d+ inputs/,
    )
    expect(() => checkRunJobSize(loaded, many.slice(0, 1000), undefined)).not.toThrow()
  })
})
