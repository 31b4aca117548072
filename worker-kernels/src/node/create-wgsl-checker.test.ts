import { afterAll, describe, expect, it } from 'vitest'
import { createWgslChecker } from './create-wgsl-checker.ts'

// A real dawn compiler (SwiftShader where there is no GPU) in a child process.

const checker = createWgslChecker()
afterAll(() => checker.close())

describe('createWgslChecker', () => {
  it("names the compiler's line and column of a kernel that does not compile", async () => {
    const messages = await checker.check(
      '@compute @workgroup_size(1)\nfn main() {\n  let x: f32 = undefined_thing;\n}',
    )
    expect(messages).toContainEqual(
      expect.objectContaining({ type: 'error', line: 3, column: expect.any(Number) }),
    )
    expect(messages!.find((m) => m.type === 'error')!.column).toBeGreaterThan(1)
  })

  it('passes a kernel that compiles, without running it, and flags a missing entry point', async () => {
    // Endless if it ran: a check must only compile.
    const endless = `@group(0) @binding(0) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(1) fn main() { loop { if (y[0] < -1.0) { break; } y[0] += 1.0; } }`
    expect(await checker.check(endless)).toEqual([])
    const other = await checker.check(endless, { entryPoint: 'start' })
    expect(other).toContainEqual(expect.objectContaining({ type: 'error', line: 0 }))
  })
})
