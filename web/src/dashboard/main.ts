/**
 * The researcher dashboard (`/dashboard`): sign in where the relay asks for it, see the
 * swarm, submit a job after its quote, follow it live, cancel it, download its result.
 * Every call goes through the SDK's browser client, to the relay that served the page.
 */
import type { JobView } from '@tabswarm/protocol'
import { createClient, type TabswarmClient, type WalletSession } from '@tabswarm/sdk'
import { connectInjectedWallet, WALLET_PROMPT_TIMEOUT_MS } from '../wallet/injected-wallet.ts'
import { type Access, checkAccess } from './access.ts'
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
import { setUpPromptBox } from './prompt-box.ts'
import { setUpSubmitForm } from './submit-form.ts'
import { REQUEST_TIMEOUT_MS } from './timeouts.ts'
import { pageWalletSession, type WalletCredentials, walletCredentials } from './wallet-session.ts'

const relay = location.origin
const element = <T extends HTMLElement>(id: string) => document.getElementById(id) as T

/** Who the page acts as: what it keeps, the SDK client acting so, and its wallet session if any. */
interface Principal {
  credentials: Credentials
  client: TabswarmClient
  session?: WalletSession | undefined
}

let principal: Principal = principalOf(loadCredentials())
const panels = new Map<string, JobPanel>()

/** The principal of saved credentials: a resumed wallet session, an API key, or none. */
function principalOf(c: Credentials): Principal {
  if (c.kind === 'wallet' && /^0x[0-9a-fA-F]{40}$/.test(c.address))
    return walletPrincipal(c.address as `0x${string}`, { saved: c })
  if (c.kind === 'wallet') return principalOf({ kind: 'open' })
  const bearer = bearerOf(c)
  return { credentials: c, client: createClient({ relay, ...(bearer ? { apiKey: bearer } : {}) }) }
}

/**
 * A wallet's principal, whose session (resumed from `saved`, or opened at its first request)
 * is kept in storage as it is opened, renewed or ended, while the page acts as it.
 */
function walletPrincipal(
  address: `0x${string}`,
  options: Pick<Parameters<typeof pageWalletSession>[0], 'saved' | 'wallet'>,
): Principal {
  const session = pageWalletSession({
    address,
    ...options,
    onCredentials: (next?: WalletCredentials) => {
      if (next) signedIn.credentials = next
      if (signedIn === principal) saveCredentials(next ?? { kind: 'open' })
    },
  })
  const signedIn: Principal = {
    // Until its session opens, a wallet without a token: described, never saved.
    credentials: options.saved ?? { kind: 'wallet', token: '', address },
    client: createClient({ relay, authenticate: session }),
    session,
  }
  return signedIn
}

function showAccessError(text: string | undefined): void {
  const error = element('access-error')
  error.textContent = text ?? ''
  error.hidden = text == null
}

/**
 * Tries a principal; on success shows the signed-in page, else the sign-in form. A wallet's
 * first request may wait for the visitor to sign in the wallet: `timeoutMs` allows for it.
 */
async function enter(next: Principal, timeoutMs = REQUEST_TIMEOUT_MS): Promise<boolean> {
  let access: Access
  try {
    access = await checkAccess(next.client, AbortSignal.timeout(timeoutMs))
  } catch (err) {
    if (next.session == null) throw err
    // The wallet did not sign (declined, absent, another account): the visitor signs in again.
    access = {
      ok: false,
      status: 0,
      message: `Signing in with your wallet did not complete: ${(err as Error).message}`,
    }
  }
  if (!access.ok) {
    document.body.dataset.state = 'signed-out'
    element('access-status').textContent = 'Not signed in.'
    showAccessError(access.message)
    element('sign-in').hidden = false
    element('sign-out').hidden = true
    element('submit').hidden = true
    element('generate-section').hidden = true
    element('jobs-section').hidden = true
    return false
  }
  // The session the access check opened (or resumed) is what the page keeps.
  if (next.session?.current) next.credentials = walletCredentials(next.session.current)
  principal = next
  saveCredentials(next.credentials)
  showAccessError(undefined)
  document.body.dataset.state = 'signed-in'
  element('access-status').textContent = `Signed in as ${describeCredentials(next.credentials)}.`
  element('principal').textContent = describeCredentials(next.credentials)
  element('sign-in').hidden = true
  element('sign-out').hidden = next.credentials.kind === 'open'
  element('submit').hidden = false
  element('generate-section').hidden = false
  element('jobs-section').hidden = false
  void listRecent()
  return true
}

function openJob(job: JobView | string): void {
  const id = typeof job === 'string' ? job : job.id
  if (panels.has(id)) return
  const panel = new JobPanel(principal.client, id, typeof job === 'string' ? undefined : job)
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
      await principal.client.listJobs({
        limit: 20,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      })
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
    if (await enter(principalOf({ kind: 'api-key', key })))
      element<HTMLInputElement>('api-key').value = ''
    else showAccessError('This API key was refused: check it, or ask the relay’s operator for one.')
  } catch (err) {
    showAccessError((err as Error).message)
  }
})

element('wallet-sign-in').addEventListener('click', async () => {
  try {
    element('access-status').textContent = 'Asking your wallet to sign in…'
    const wallet = await connectInjectedWallet(
      globalThis.ethereum,
      AbortSignal.timeout(WALLET_PROMPT_TIMEOUT_MS),
    )
    // The access check opens the session: one signature, which the visitor may take a while to give.
    await enter(
      walletPrincipal(wallet.address, { wallet }),
      WALLET_PROMPT_TIMEOUT_MS + REQUEST_TIMEOUT_MS,
    )
  } catch (err) {
    element('access-status').textContent = 'Not signed in.'
    showAccessError((err as Error).message)
  }
})

element('sign-out').addEventListener('click', () => {
  // Ends the session at the relay, so its token stops working at once.
  principal.session
    ?.close(AbortSignal.timeout(REQUEST_TIMEOUT_MS))
    .catch((err: Error) => console.warn(`tabswarm dashboard: ${err.message}`))
  for (const panel of panels.values()) panel.close()
  panels.clear()
  saveCredentials({ kind: 'open' })
  void enter(principalOf({ kind: 'open' }))
})

element('relay-url').textContent = relay
setUpSubmitForm(() => principal.client, openJob)
setUpPromptBox(() => principal.client)
// The public figures need no credentials: a client of its own, whoever is signed in.
showNetwork(createClient({ relay }), new AbortController().signal)
enter(principal)
  .catch((err: Error) => {
    document.body.dataset.state = 'error'
    element('access-status').textContent = 'The relay did not answer.'
    showAccessError(`Could not reach the relay at ${relay}: ${err.message}. Is it running?`)
  })
  .finally(() => {
    document.body.dataset.ready = 'true'
  })
