import type { JobView } from '@tabswarm/protocol'
import { JobAbortedError, type TabswarmClient } from '@tabswarm/sdk'
import * as format from './format.ts'
import { promptRequest } from './prompt-form.ts'
import { waitingText } from './waiting-text.ts'

const element = <T extends HTMLElement>(id: string) => document.getElementById(id) as T
/** Where the last model reference is kept: it is no secret, and researchers reuse one model. */
const MODEL_REF_KEY = 'tabswarm.dashboard.modelRef'
/** A generation gives up (and its job is cancelled) after this long. */
const GENERATE_TIMEOUT_MS = 30 * 60_000
/** Largest model reference file read. */
const MAX_REF_FILE_BYTES = 1024 * 1024

/**
 * The prompt box: a model already on the relay (its reference, as `tabswarm generate
 * --save-ref` writes it, pasted or chosen as a file), a prompt, and the tokens streaming in
 * as contributors compute and the coordinator verifies them. Stop cancels the job. The
 * text region is a log (a polite live region), busy while tokens arrive, so a screen reader reads
 * the generation once rather than token by token; the status line says what the job
 * costs and waits for.
 */
export function setUpPromptBox(client: () => TabswarmClient): void {
  const form = element<HTMLFormElement>('prompt-form')
  const refText = element<HTMLTextAreaElement>('model-ref')
  const generateButton = element<HTMLButtonElement>('generate')
  const stopButton = element<HTMLButtonElement>('generate-stop')
  const output = element('generation')
  const status = element('generate-status')
  const error = element('generate-error')
  let running: AbortController | undefined

  refText.value = localStorage.getItem(MODEL_REF_KEY) ?? ''
  const showError = (text: string | undefined) => {
    error.textContent = text ?? ''
    error.hidden = text == null
  }

  element<HTMLInputElement>('model-ref-file').addEventListener('change', async (event) => {
    const file = (event.target as HTMLInputElement).files?.[0]
    if (!file) return
    if (file.size > MAX_REF_FILE_BYTES)
      return showError(
        `${file.name} is larger than a model reference: choose the file --save-ref wrote`,
      )
    refText.value = await file.text()
  })

  stopButton.addEventListener('click', () => running?.abort(new Error('stopped')))

  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    if (running) return
    showError(undefined)
    let request: ReturnType<typeof promptRequest>
    try {
      request = promptRequest({
        modelRef: refText.value,
        prompt: element<HTMLTextAreaElement>('prompt').value,
        maxTokens: element<HTMLInputElement>('max-tokens').value,
        temperature: element<HTMLInputElement>('temperature').value,
        seed: element<HTMLInputElement>('seed').value,
      })
    } catch (err) {
      return showError((err as Error).message)
    }
    localStorage.setItem(MODEL_REF_KEY, refText.value)
    running = new AbortController()
    const signal = AbortSignal.any([running.signal, AbortSignal.timeout(GENERATE_TIMEOUT_MS)])
    generateButton.disabled = true
    stopButton.disabled = false
    output.textContent = ''
    output.setAttribute('aria-busy', 'true')
    const { sampling } = request.options
    status.textContent = `Loading the tokenizer of ${request.ref.name ?? 'the model'}…`
    let job: JobView | undefined
    let tokens = 0
    const started = performance.now()
    try {
      const stream = client().generate(request.ref, request.prompt, {
        ...request.options,
        signal,
        onProgress: (next) => {
          job = next
          if (tokens === 0)
            status.textContent = `Job ${next.id.slice(0, 8)} (${format.credits(next.credits.budget)} escrowed). ${next.status === 'running' ? waitingText(next) : ''}`
        },
      })
      for await (const token of stream) {
        tokens++
        output.textContent += token.text
        status.textContent = `Generating: ${format.plural(tokens, 'token')}, each verified${job ? ` (job ${job.id.slice(0, 8)})` : ''}…`
      }
      const seconds = (performance.now() - started) / 1000
      status.textContent = `Done: ${format.plural(tokens, 'token')} in ${format.duration(seconds * 1000)}${sampling?.mode === 'sample' ? `, seed ${sampling.seed}` : ', greedy'}${job ? ` (job ${job.id.slice(0, 8)})` : ''}.`
    } catch (err) {
      if (err instanceof JobAbortedError)
        status.textContent = `Stopped after ${format.plural(tokens, 'token')}; ${err.job?.status === 'cancelled' ? `the job was cancelled and ${format.credits(err.job.credits.refunded)} refunded` : 'the job had already ended'}.`
      else {
        status.textContent = ''
        showError((err as Error).message)
      }
    } finally {
      output.setAttribute('aria-busy', 'false')
      generateButton.disabled = false
      stopButton.disabled = true
      running = undefined
    }
  })
}
