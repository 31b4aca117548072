import { describe, expect, it } from 'vitest'
import { checkWebGpu, WEBGPU_EXPLANATIONS } from './webgpu-support.ts'

const gpuAnswering = (answer: () => Promise<GPUAdapter | null>) => ({ requestAdapter: answer })

describe('the WebGPU check before Start', () => {
  it('says the browser lacks WebGPU when there is no navigator.gpu', async () => {
    expect(await checkWebGpu({ gpu: undefined })).toEqual({
      supported: false,
      reason: 'no-api',
      explanation: WEBGPU_EXPLANATIONS['no-api'],
    })
    expect(WEBGPU_EXPLANATIONS['no-api']).toMatch(/Chrome or Edge/)
  })

  it('says no GPU was given when requestAdapter resolves null or rejects', async () => {
    const nullAdapter = gpuAnswering(async () => null)
    expect(await checkWebGpu({ gpu: nullAdapter })).toMatchObject({ reason: 'no-adapter' })
    const refusing = gpuAnswering(async () => {
      throw new Error('blocked')
    })
    expect(await checkWebGpu({ gpu: refusing })).toMatchObject({ reason: 'no-adapter' })
  })

  it('is supported with an adapter', async () => {
    const gpu = gpuAnswering(async () => ({}) as GPUAdapter)
    expect(await checkWebGpu({ gpu })).toEqual({ supported: true })
  })

  it('gives up on a browser that never answers', async () => {
    const gpu = gpuAnswering(() => new Promise(() => undefined))
    expect(await checkWebGpu({ gpu, timeoutMs: 50 })).toMatchObject({ reason: 'timeout' })
  })
})
