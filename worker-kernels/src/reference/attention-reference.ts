import type { ReferenceResult } from '../compare/compare-elementwise.ts'
import {
  ABSOLUTE_FLOOR,
  expError,
  gamma,
  OUTPUT_ROUNDING,
  F32_UNIT_ROUNDOFF as u,
} from '../compare/tolerance-model.ts'
import type { AttentionRequest } from '../kernels/transformer/transformer-requests.ts'
import { floatValues } from './float-values.ts'

/**
 * Scaled dot-product attention in f64 (with `kvLen` and `kvHeads` as the kernel takes
 * them: a KV cache and grouped-query attention), with a tolerance per output element from the
 * error of each stage: each score sⱼ = scale·q·kⱼ is a d-term dot product, off by
 * Eⱼ = γ_d₊₁·scale·Σ|q||kⱼ|, which perturbs each probability pⱼ by at most 2·max E
 * relative; `exp` adds expError(sⱼ − max) (as in `softmaxReference`); the weighted sum
 * over L keys adds γ_L·Σ pⱼ|vⱼ|. So for output dimension t,
 * |Δo| ≤ Σⱼ pⱼ|vⱼₜ|·(2·max E + expError(dⱼ) + W + 2γ_L + 2u), W = Σⱼ pⱼ·expError(dⱼ),
 * times a safety factor of 2, plus the output rounding.
 */
export function attentionReference(request: AttentionRequest): ReferenceResult {
  const dtype = request.dtype ?? 'float32'
  const { heads, seqLen, headDim: d } = request
  const kvLen = request.kvLen ?? seqLen
  const group = heads / (request.kvHeads ?? heads)
  const causal = request.causal ?? true
  const scale = request.scale ?? 1 / Math.sqrt(d)
  const q = floatValues(request.q, dtype)
  const k = floatValues(request.k, dtype)
  const v = floatValues(request.v, dtype)
  const r = OUTPUT_ROUNDING[dtype]
  const floor = ABSOLUTE_FLOOR[dtype]
  const expected = new Float64Array(heads * seqLen * d)
  const tolerance = new Float64Array(heads * seqLen * d)
  const scores = new Float64Array(kvLen)
  const p = new Float64Array(kvLen)
  for (let h = 0; h < heads; h++) {
    const base = h * seqLen * d
    const kvBase = Math.floor(h / group) * kvLen * d
    for (let i = 0; i < seqLen; i++) {
      // The queries are the last seqLen of the kvLen positions.
      const keys = causal ? kvLen - seqLen + i + 1 : kvLen
      let top = Number.NEGATIVE_INFINITY
      let maxScoreError = 0
      for (let j = 0; j < keys; j++) {
        let dot = 0
        let abs = 0
        for (let t = 0; t < d; t++) {
          const product = (q[base + i * d + t] as number) * (k[kvBase + j * d + t] as number)
          dot += product
          abs += Math.abs(product)
        }
        scores[j] = dot * scale
        top = Math.max(top, dot * scale)
        maxScoreError = Math.max(maxScoreError, gamma(d + 1) * Math.abs(scale) * abs)
      }
      let sum = 0
      for (let j = 0; j < keys; j++) {
        p[j] = Math.exp((scores[j] as number) - top)
        sum += p[j] as number
      }
      let weighted = 0
      for (let j = 0; j < keys; j++) {
        p[j] = (p[j] as number) / sum
        weighted += (p[j] as number) * expError((scores[j] as number) - top)
      }
      const common = 2 * maxScoreError + weighted + 2 * gamma(keys) + 2 * u
      for (let t = 0; t < d; t++) {
        let out = 0
        let err = 0
        for (let j = 0; j < keys; j++) {
          const pv = (p[j] as number) * (v[kvBase + j * d + t] as number)
          out += pv
          err += Math.abs(pv) * (common + expError((scores[j] as number) - top))
        }
        expected[base + i * d + t] = out
        tolerance[base + i * d + t] = 2 * err + r * Math.abs(out) + floor
      }
    }
  }
  return { expected, tolerance }
}
