import type { GenerateOptions, ModelRef } from '@tabswarm/sdk'
import { parseModelRef } from '@tabswarm/sdk'

/** The prompt box's fields, as typed. */
export interface PromptForm {
  /** A model ref, as `tabswarm generate --save-ref` writes it (JSON). */
  modelRef: string
  prompt: string
  maxTokens: string
  /** Empty: greedy decoding. */
  temperature: string
  /** Empty: a random seed (shown, so the generation can be replayed). */
  seed: string
}

/** What one generation asks for, checked. */
export interface PromptRequest {
  ref: ModelRef
  prompt: string
  options: Pick<GenerateOptions, 'maxNewTokens' | 'sampling'>
}

/** Most tokens the box asks for (the relay caps a job at 1024). */
export const MAX_BOX_TOKENS = 1024

/**
 * The generation the prompt box describes, or an `Error` naming the field to fix, before
 * anything is sent. A model ref must name its tokenizer blob (the dashboard has no model
 * directory to read one from).
 */
export function promptRequest(
  form: PromptForm,
  randomSeed: () => number = () => crypto.getRandomValues(new Uint32Array(1))[0]!,
): PromptRequest {
  const text = form.modelRef.trim()
  if (text === '')
    throw new Error(
      'paste a model reference: \'tabswarm generate MODEL_DIR "prompt" --save-ref model.json\' writes one',
    )
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new Error('the model reference is not JSON: paste the whole file --save-ref wrote')
  }
  const ref = parseModelRef(json, 'the model reference')
  if (ref.tokenizer == null)
    throw new Error(
      'the model reference names no tokenizer: upload the model again with tabswarm generate (it uploads tokenizer.json too)',
    )
  if (form.prompt.trim() === '') throw new Error('type a prompt for the model to continue')
  const maxNewTokens = Number(form.maxTokens)
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1 || maxNewTokens > MAX_BOX_TOKENS)
    throw new Error(`most tokens must be a whole number from 1 to ${MAX_BOX_TOKENS}`)
  const temperature = form.temperature.trim()
  if (temperature === '')
    return { ref, prompt: form.prompt, options: { maxNewTokens, sampling: { mode: 'greedy' } } }
  const t = Number(temperature)
  if (!(t > 0 && t <= 100))
    throw new Error(
      'temperature must be a number above 0 (at most 100), or empty for greedy decoding',
    )
  const seedText = form.seed.trim()
  const seed = seedText === '' ? randomSeed() : Number(seedText)
  if (!Number.isInteger(seed) || seed < -(2 ** 31) || seed > 2 ** 32 - 1)
    throw new Error('seed must be a whole number (32 bits), or empty for a random one')
  return {
    ref,
    prompt: form.prompt,
    options: { maxNewTokens, sampling: { mode: 'sample', seed, temperature: t } },
  }
}
