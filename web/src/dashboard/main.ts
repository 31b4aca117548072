/**
 * The researcher dashboard (`/dashboard`): sign in where the relay asks for it, see the
 * swarm, submit a job after its quote, follow it live, cancel it, download its result.
 * Every call goes through the SDK's browser client, to the relay that served the page.
 */
import type { JobView } from '@tabswarm/protocol'
import { createClient, type TabswarmClient } from '@tabswarm/sdk'
import { checkAccess } from './access.ts'
import {
  bearerOf,
  type Credentials,
  checkApiKey,
  describeCredentials,
  loadCredentials,
  saveCredentials,
} from './credentials.ts'
import * as format from './format.ts'
import { JobPanel } from './job-panel.ts'
import { showNetwork } from './network-panel.ts'
import { setUpSubmitForm } from './submit-form.ts'
import { REQUEST_TIMEOUT_MS } from './timeouts.ts'
import { closeWalletSession, openWalletSession } from './wallet-session.ts'

const relay = location.origin
const element = <T extends HTMLElement>(id: string) => document.getElementById(id) as T

let credentials: Credentials = loadCredentials()
let client: TabswarmClient = clientFor(credentials)
const panels = new Map<string, JobPanel>()

function clientFor(c: Credentials): TabswarmClient {
  const bearer = bearerOf(c)
  return createClient({ relay, ...(bearer ? { apiKey: bearer } : {}) })
}

function showAccessError(text: string | undefined): void {
  const error = element('access-error')
  error.textContent = text ?? ''
  error.hidden = text == null
}

/** Tries the credentials; on success shows the signed-in page, else the sign-in form. */
async function enter(next: Credentials): Promise<boolean> {
  const candidate = clientFor(next)
  const access = await checkAccess(candidate, AbortSignal.timeout(REQUEST_TIMEOUT_MS))
  if (!access.ok) {
    document.body.dataset.state = 'signed-out'
    element('access-status').textContent = 'Not signed in.'
    showAccessError(access.message)
    element('sign-in').hidden = false
    element('sign-out').hidden = true
    element('submit').hidden = true
    element('jobs-section').hidden = true
    return false
  }
  credentials = next
  client = candidate
  saveCredentials(next)
  showAccessError(undefined)
  document.body.dataset.state = 'signed-in'
  element('access-status').textContent = `Signed in as ${describeCredentials(next)}.`
  element('principal').textContent = describeCredentials(next)
  element('sign-in').hidden = true
  element('sign-out').hidden = next.kind === 'open'
  element('submit').hidden = false
  element('jobs-section').hidden = false
  void listRecent()
  return true
}

function openJob(job: JobView | string): void {
  const id = typeof job === 'string' ? job : job.id
  if (panels.has(id)) return
  const panel = new JobPanel(client, id, typeof job === 'string' ? undefined : job)
  panels.set(id, panel)
  panel.onEnded = () => void listRecent()
  element('jobs').prepend(panel.element)
  void panel.follow()
  void listRecent()
  element('recent')
    .querySelector(`[data-job-id="${CSS.escape(id)}"]`)
    ?.remove()
}

/** The caller's recent jobs not shown above, each with a button to show it. */
async function listRecent(): Promise<void> {
  const list = element('recent')
  try {
    const jobs = (
      await client.listJobs({ limit: 20, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
    ).filter((job) => !panels.has(job.id))
    list.replaceChildren(
      ...jobs.map((job) => {
        const item = document.createElement('li')
        const button = document.createElement('button')
        button.type = 'button'
        button.textContent = `Show job ${job.id.slice(0, 8)}`
        button.addEventListener('click', () => openJob(job.id))
        item.dataset.jobId = job.id
        item.append(
          `${job.name ? `${job.name}, ` : ''}${job.kernel}, ${job.status}, ${format.count(job.tasks.accepted)}/${format.plural(job.tasks.total, 'task')} `,
          button,
        )
        return item
      }),
    )
    if (jobs.length === 0)
      list.replaceChildren(
        Object.assign(document.createElement('li'), {
          textContent: panels.size > 0 ? 'none besides those above' : 'none yet',
        }),
      )
  } catch (err) {
    list.replaceChildren(
      Object.assign(document.createElement('li'), {
        textContent: `could not list your jobs: ${(err as Error).message}`,
      }),
    )
  }
}

element('sign-in').addEventListener('submit', async (event) => {
  event.preventDefault()
  try {
    const key = checkApiKey(element<HTMLInputElement>('api-key').value)
    if (await enter({ kind: 'api-key', key })) element<HTMLInputElement>('api-key').value = ''
    else showAccessError('This API key was refused: check it, or ask the relay’s operator for one.')
  } catch (err) {
    showAccessError((err as Error).message)
  }
})

element('wallet-sign-in').addEventListener('click', async () => {
  try {
    element('access-status').textContent = 'Asking your wallet to sign in…'
    const session = await openWalletSession(relay)
    if (!(await enter(session)))
      showAccessError('The relay refused the wallet session it opened; sign in again.')
  } catch (err) {
    element('access-status').textContent = 'Not signed in.'
    showAccessError((err as Error).message)
  }
})

element('sign-out').addEventListener('click', () => {
  if (credentials.kind === 'wallet')
    closeWalletSession(relay, credentials.token).catch((err: Error) =>
      console.warn(`tabswarm dashboard: ${err.message}`),
    )
  for (const panel of panels.values()) panel.close()
  panels.clear()
  saveCredentials({ kind: 'open' })
  void enter({ kind: 'open' })
})

element('relay-url').textContent = relay
setUpSubmitForm(() => client, openJob)
// The public figures need no credentials: a client of its own, whoever is signed in.
showNetwork(createClient({ relay }), new AbortController().signal)
enter(credentials)
  .catch((err: Error) => {
    document.body.dataset.state = 'error'
    element('access-status').textContent = 'The relay did not answer.'
    showAccessError(`Could not reach the relay at ${relay}: ${err.message}. Is it running?`)
  })
  .finally(() => {
    document.body.dataset.ready = 'true'
  })
