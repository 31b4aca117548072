import type { JobView, TensorRef } from '@tabswarm/protocol'
import type { JobSpec, TabswarmClient } from '@tabswarm/sdk'
import { customJobSpec } from './custom-spec.ts'
import * as format from './format.ts'
import { type ReadNpy, readNpyFile } from './npy-file.ts'
import { MAX_WGSL_FILE_BYTES } from './timeouts.ts'

const UPLOAD_TIMEOUT_MS = 10 * 60_000
const element = <T extends HTMLElement>(id: string) => document.getElementById(id) as T

/**
 * The submit form: a matmul from two `.npy` files, or a custom kernel as `tabswarm run`
 * takes it. "Get a quote" uploads the inputs and asks the relay what the job costs (tasks,
 * GFLOP, credits); only then can it be submitted, and the escrow is shown after.
 */
export function setUpSubmitForm(
  client: () => TabswarmClient,
  onSubmitted: (job: JobView) => void,
): void {
  const form = element<HTMLFormElement>('job-form')
  const confirm = element<HTMLButtonElement>('confirm')
  const quoteText = element('quote-text')
  const warning = element('submit-warning')
  const error = element('submit-error')
  const quoteButton = form.querySelector<HTMLButtonElement>('button[type=submit]')!
  let quoted: JobSpec | undefined

  const kind = () =>
    (form.querySelector<HTMLInputElement>('input[name=kind]:checked')?.value ?? 'matmul') as
      | 'matmul'
      | 'custom'
  const invalidate = () => {
    quoted = undefined
    confirm.disabled = true
    quoteText.textContent = ''
  }
  form.addEventListener('change', (event) => {
    if ((event.target as HTMLInputElement).name === 'kind') {
      element('matmul-fields').hidden = kind() !== 'matmul'
      element('custom-fields').hidden = kind() !== 'custom'
    }
    invalidate()
  })
  form.addEventListener('input', invalidate)
  element<HTMLInputElement>('wgsl-file').addEventListener('change', async (event) => {
    const file = (event.target as HTMLInputElement).files?.[0]
    if (!file) return
    if (file.size > MAX_WGSL_FILE_BYTES)
      return showError(`${file.name} is larger than ${MAX_WGSL_FILE_BYTES} bytes: is it WGSL?`)
    element<HTMLTextAreaElement>('wgsl').value = await file.text()
  })

  const showError = (text: string | undefined) => {
    error.textContent = text ?? ''
    error.hidden = text == null
  }

  async function readFiles(files: readonly File[]): Promise<ReadNpy[]> {
    const castFloat64 = element<HTMLInputElement>('cast').checked
    const read = await Promise.all(files.map((f) => readNpyFile(f, { castFloat64 })))
    const warnings = read.flatMap((r) => (r.castWarning ? [r.castWarning] : []))
    warning.textContent = warnings.join(' ')
    warning.hidden = warnings.length === 0
    return read
  }

  async function buildSpec(signal: AbortSignal): Promise<JobSpec> {
    const name = element<HTMLInputElement>('job-name').value.trim()
    const named = name ? { name } : {}
    if (kind() === 'matmul') {
      const a = element<HTMLInputElement>('file-a').files?.[0]
      const b = element<HTMLInputElement>('file-b').files?.[0]
      if (!a || !b) throw new Error('choose both matrices, A and B, as .npy files')
      const [ra, rb] = await readFiles([a, b])
      for (const r of [ra!, rb!]) {
        if (r.array.shape.length !== 2)
          throw new Error(
            `${r.name} is ${r.array.shape.length}-dimensional; a matrix has 2 dimensions`,
          )
        if (r.array.dtype !== 'float32')
          throw new Error(
            `${r.name} holds ${r.array.dtype}; matrix multiply takes float32: save it with a.astype('float32')`,
          )
      }
      if (ra!.array.shape[1] !== rb!.array.shape[0])
        throw new Error(
          `inner dimensions differ: ${ra!.name} is ${format.shape(ra!.array.shape)}, ${rb!.name} is ${format.shape(rb!.array.shape)}; A's columns must equal B's rows`,
        )
      quoteText.textContent = 'Uploading the matrices…'
      const [refA, refB] = await Promise.all([
        client().uploadTensor(ra!.array, { signal }),
        client().uploadTensor(rb!.array, { signal }),
      ])
      return { kernel: 'matmul', inputs: { a: refA!, b: refB! }, ...named }
    }
    const files = [...(element<HTMLInputElement>('inputs').files ?? [])]
    const inputs = await readFiles(files)
    const formValues = {
      wgsl: element<HTMLTextAreaElement>('wgsl').value,
      entryPoint: element<HTMLInputElement>('entry-point').value.trim(),
      outputDtype: element<HTMLSelectElement>('output-dtype').value,
      outputShape: element<HTMLInputElement>('output-shape').value,
      workgroups: element<HTMLInputElement>('workgroups').value,
    }
    // Checked before anything is uploaded.
    customJobSpec(
      formValues,
      inputs.map((r) => ({ blob: '0'.repeat(64), array: r.array })),
    )
    quoteText.textContent = `Uploading ${format.plural(inputs.length, 'input')}…`
    const refs: TensorRef[] = []
    for (const r of inputs) refs.push(await client().uploadTensor(r.array, { signal }))
    return {
      ...customJobSpec(
        formValues,
        inputs.map((r, i) => ({ blob: refs[i]!.blob, array: r.array })),
      ),
      ...named,
    }
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    invalidate()
    showError(undefined)
    quoteButton.disabled = true
    try {
      const signal = AbortSignal.timeout(UPLOAD_TIMEOUT_MS)
      const spec = await buildSpec(signal)
      const quote = await client().quote(spec, { signal })
      quoted = spec
      quoteText.textContent = `Quote: ${format.plural(quote.tasks, 'task')}, ${format.gflop(quote.flops)}, ${format.credits(quote.credits)} escrowed when you submit (the unspent part is refunded).`
      quoteText.dataset.credits = quote.credits
      confirm.disabled = false
    } catch (err) {
      quoteText.textContent = ''
      showError((err as Error).message)
    } finally {
      quoteButton.disabled = false
    }
  })

  confirm.addEventListener('click', async () => {
    if (!quoted) return
    confirm.disabled = true
    showError(undefined)
    try {
      const handle = await client().submit(quoted, { signal: AbortSignal.timeout(60_000) })
      const job = handle.submitted ?? (await handle.status())
      quoteText.textContent = `Submitted job ${job.id.slice(0, 8)}: ${format.credits(job.credits.budget)} escrowed.`
      quoted = undefined
      onSubmitted(job)
    } catch (err) {
      confirm.disabled = false
      showError(`The relay did not take the job: ${(err as Error).message}`)
    }
  })
}
