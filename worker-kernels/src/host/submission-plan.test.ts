import { describe, expect, it } from 'vitest'
import { KernelLimitError } from '../errors.ts'
import type { GpuProgram, ProgramPass } from './gpu-program.ts'
import { planSubmissions } from './submission-plan.ts'

function pass(overrides: Partial<ProgramPass>, withParams = true): ProgramPass {
  const base: ProgramPass = {
    key: 'k',
    label: 'test-pass',
    code: '',
    reads: [],
    writes: [],
    uniform: 'grid',
    params: new Uint8Array(8),
    grid: [1, 1, 1],
    workPerWorkgroup: 1,
    ...overrides,
  }
  if (!withParams) delete base.params
  return base
}

function program(...passes: ProgramPass[]): GpuProgram {
  return { label: 'test', buffers: [], passes, outputs: [] }
}

const limits = { maxWorkgroupsPerDimension: 65_535, maxWorkPerSubmission: 1_000 }

describe('planSubmissions', () => {
  it('keeps every submission within the budget and covers each workgroup once', () => {
    const plan = planSubmissions(
      program(pass({ grid: [37, 11, 3], workPerWorkgroup: 90 }), pass({ grid: [5, 1, 1] })),
      limits,
    )
    const seen = new Set<string>()
    for (const submission of plan.submissions) {
      let work = 0
      for (const { pass: p, dispatch } of submission) {
        const [cx, cy, cz] = dispatch.count
        work += (p === 0 ? 90 : 1) * cx * cy * cz
        for (let z = 0; z < cz; z++)
          for (let y = 0; y < cy; y++)
            for (let x = 0; x < cx; x++) {
              const id = `${p}:${dispatch.offset[0] + x},${dispatch.offset[1] + y},${dispatch.offset[2] + z}`
              expect(seen.has(id), id).toBe(false)
              seen.add(id)
            }
      }
      expect(work).toBeLessThanOrEqual(1_000)
    }
    expect(seen.size).toBe(37 * 11 * 3 + 5)
    // 1221 workgroups of 90 units, 11 per submission, then the 5 small ones.
    expect(plan.submissions.length).toBeGreaterThanOrEqual(Math.ceil((1221 * 90) / 1_000))
    expect(plan.uniformSlots).toBe(plan.submissions.flat().length)
    expect(plan.uniformBytes).toEqual([32, 32])
  })

  it('refuses a pass whose single workgroup exceeds the budget, naming it', () => {
    const tooBig = program(pass({ label: 'matmul-tiled-float32', workPerWorkgroup: 1_001 }))
    expect(() => planSubmissions(tooBig, limits)).toThrow(KernelLimitError)
    expect(() => planSubmissions(tooBig, limits)).toThrow(
      /One workgroup of matmul-tiled-float32 costs 1001 work units, above the 1000/,
    )
  })

  it('keeps unsplittable passes whole and gives passes without a uniform no slot', () => {
    const plan = planSubmissions(
      program(pass({ uniform: 'none', grid: [4000, 1, 1] }, false)),
      limits,
    )
    expect(plan.submissions).toEqual([
      [{ pass: 0, dispatch: { offset: [0, 0, 0], count: [4000, 1, 1] }, uniformSlot: -1 }],
    ])
    expect(plan.uniformSlots).toBe(0)
  })

  it('plans one (empty) submission for a program with nothing to dispatch', () => {
    expect(planSubmissions(program(pass({ grid: [0, 1, 1] })), limits).submissions).toEqual([[]])
  })
})
