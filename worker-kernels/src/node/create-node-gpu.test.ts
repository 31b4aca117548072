import { existsSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { CHROMIUM_SWIFTSHADER_ICD, selectVulkanIcd } from './create-node-gpu.ts'

describe('selectVulkanIcd', () => {
  it('lets TABSWARM_VK_ICD override everything', () => {
    const env = { TABSWARM_VK_ICD: '/x/icd.json', VK_ICD_FILENAMES: '/y/icd.json' }
    expect(selectVulkanIcd(env)).toBe('/x/icd.json')
    expect(env.VK_ICD_FILENAMES).toBe('/x/icd.json')
  })

  it('keeps a VK_ICD_FILENAMES the user set', () => {
    expect(selectVulkanIcd({ VK_ICD_FILENAMES: '/y/icd.json' })).toBe('/y/icd.json')
  })

  it("falls back to Chromium's SwiftShader only when it is installed", () => {
    const env: NodeJS.ProcessEnv = {}
    const expected = existsSync(CHROMIUM_SWIFTSHADER_ICD) ? CHROMIUM_SWIFTSHADER_ICD : undefined
    expect(selectVulkanIcd(env)).toBe(expected)
    expect(env.VK_ICD_FILENAMES).toBe(expected)
  })
})
