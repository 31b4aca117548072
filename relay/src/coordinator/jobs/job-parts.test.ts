import { describe, expect, it } from 'vitest'
import { sha256HexSync } from '../../blobs/sha256-hex.ts'
import { createJobParts } from './job-parts.ts'

describe('the job part index', () => {
  it('serves a part by its sha-256 until the last job holding it ends', () => {
    const parts = createJobParts()
    const band = new Uint8Array([1, 2, 3, 4])
    const hash = parts.add('job-1', band)
    expect(hash).toBe(sha256HexSync(band))
    expect(parts.get(hash)).toBe(band)
    expect(parts.add('job-2', band)).toBe(hash)
    parts.dropJob('job-1')
    expect(parts.get(hash)).toBe(band)
    parts.dropJob('job-2')
    expect(parts.get(hash)).toBeUndefined()
    expect(parts.size).toBe(0)
  })
})
