import type { WidgetReport, WidgetRunOptions } from './widget-run.ts'
import { WIDGET_STYLE } from './widget-style.ts'

/** The element's tag: `<tabswarm-contributor relay="https://RELAY" site="0x…">`. */
export const WIDGET_TAG = 'tabswarm-contributor'

/**
 * The events the element dispatches, all bubbling and `composed` (they leave its shadow root):
 * - `tabswarm-started`: the visitor consented (or resumed); detail `{ resumed: boolean }`
 * - `tabswarm-paused`: detail `{ reason: 'visitor' | 'hidden' }`
 * - `tabswarm-earned`: a result was paid; detail `{ accepted: number }` (this page's total)
 * - `tabswarm-stopped`: detail `{ reason: 'visitor' | 'removed' | 'error', error?: string }`
 */
export type WidgetEventName =
  | 'tabswarm-started'
  | 'tabswarm-paused'
  | 'tabswarm-earned'
  | 'tabswarm-stopped'

type Lazy = typeof import('./widget-run.ts')

/**
 * The lazy part, `assets/widget-run.js` beside this loader on the relay (a stable entry name,
 * see vite.config.ts), resolved against this module's URL, not the host page's. Imported by
 * URL, so the build adds no preload helper to the loader.
 */
const loadLazy = (): Promise<Lazy> =>
  import(/* @vite-ignore */ new URL('./assets/widget-run.js', import.meta.url).href)

const TEMPLATE = `<style>${WIDGET_STYLE}</style><div part="box"><p>Lend this tab's graphics card (GPU) to research computations. Every result is checked; what you earn goes to a key kept in this browser, and a share to this site. Nothing runs or connects until you press Start, it pauses while this tab is hidden, and you can stop at any time.</p><p id="status" role="status" aria-live="polite"></p><div class="row"><button id="start" type="button">Start</button><button id="pause" class="quiet" type="button" hidden>Pause</button><button id="stop" class="quiet" type="button" hidden>Stop</button></div><div id="wallet" class="note" hidden><p>Credited to <code id="address"></code>. Browsers keep this key for this site only: another site's widget gets another key. To collect these credits with your others, copy the key and import it where you keep them. Whoever has the key owns the credits: keep it secret.</p><button id="export" class="quiet" type="button">Show my key</button><input id="key" readonly aria-label="Your private key: keep it secret, whoever has it owns the credits" hidden></div></div>`

/**
 * `<tabswarm-contributor>`: the one-tag widget. It explains itself and waits for the visitor's
 * click; only then does it import its lazy part (libp2p, the kernel worker, the kernels), so
 * before consent it opens no connection and does no GPU work. It runs only while the tab is
 * visible (pausing when hidden, resuming when shown) unless the site sets `run-when-hidden`.
 */
export class ContributorElement extends HTMLElement {
  #root = this.attachShadow({ mode: 'open' })
  #run: AbortController | undefined
  #lazy: Promise<Lazy> | undefined
  #accepted = 0
  /** Paused because the tab was hidden: resumed when it is shown again. */
  #hiddenPause = false

  connectedCallback(): void {
    document.addEventListener('visibilitychange', this.#visibility)
    if (this.#root.firstChild) return
    this.#root.innerHTML = TEMPLATE
    const on = (id: string, act: () => void) => this.#el(id).addEventListener('click', act)
    on('start', () => this.#start(false))
    on('pause', () => (this.#run ? this.#pause('visitor') : this.#start(true)))
    on('stop', () => this.#stop('visitor'))
    on('export', () => void this.#exportKey())
    if (!('gpu' in navigator)) {
      this.#status(
        "This browser can't lend its GPU: it has no WebGPU. A recent Chrome, Edge or Safari can.",
      )
      ;(this.#el('start') as HTMLButtonElement).disabled = true
    }
  }

  disconnectedCallback(): void {
    document.removeEventListener('visibilitychange', this.#visibility)
    // Taken out of the page (or moved): nothing may run on unseen.
    if (this.#run || this.#hiddenPause) this.#stop('removed')
  }

  #visibility = (): void => {
    if (this.hasAttribute('run-when-hidden')) return
    if (document.hidden && this.#run) {
      this.#pause('hidden')
      this.#hiddenPause = true
    } else if (!document.hidden && this.#hiddenPause) this.#start(true)
  }

  #el(id: string): HTMLElement {
    return this.#root.getElementById(id)!
  }

  #status(line: string): void {
    this.#el('status').textContent = line
  }

  #emit(name: WidgetEventName, detail: object): void {
    this.dispatchEvent(new CustomEvent(name, { bubbles: true, composed: true, detail }))
  }

  #buttons(running: boolean, paused: boolean): void {
    this.#el('start').hidden = running || paused
    this.#el('pause').hidden = this.#el('stop').hidden = !(running || paused)
    this.#el('pause').textContent = paused ? 'Resume' : 'Pause'
  }

  /** The relay: the `relay` attribute, or where this script came from. */
  #relay(): string {
    const own = new URL(/* @vite-ignore */ './', import.meta.url).href
    return new URL(this.getAttribute('relay') ?? own, document.baseURI).href
  }

  #start(resumed: boolean): void {
    if (this.#run) return
    const run = new AbortController()
    this.#run = run
    this.#hiddenPause = false
    this.#buttons(true, false)
    this.#status('Starting')
    this.#emit('tabswarm-started', { resumed })
    const report: WidgetReport = {
      status: (line) => this.#run === run && this.#status(line),
      wallet: (address, problem) => {
        this.#el('wallet').hidden = address == null
        this.#el('address').textContent = address ?? ''
        if (problem) console.warn(`tabswarm widget: ${problem}`)
      },
      accepted: () => {
        this.#accepted++
        this.#emit('tabswarm-earned', { accepted: this.#accepted })
      },
    }
    const options: WidgetRunOptions = {
      relay: this.#relay(),
      site: this.getAttribute('site'),
      signal: run.signal,
      report,
    }
    // The lazy part, only now: its import is what loads libp2p, the worker and the kernels.
    this.#lazyPart()
      .then((lazy) => lazy.runWidget(options))
      .catch((err: unknown) => {
        if (run.signal.aborted) return
        this.#run = undefined
        this.#buttons(false, false)
        this.#status(`Stopped: ${(err as Error).message}`)
        this.#emit('tabswarm-stopped', { reason: 'error', error: (err as Error).message })
      })
  }

  /** The lazy part, imported on first use (Start, or Show my key after it). */
  #lazyPart(): Promise<Lazy> {
    // A failed import (the relay down, a network error) is tried again on the next Start.
    this.#lazy ??= loadLazy().catch((err: unknown) => {
      this.#lazy = undefined
      throw new Error(`could not load the widget from the relay (${(err as Error).message})`)
    })
    return this.#lazy
  }

  #pause(reason: 'visitor' | 'hidden'): void {
    this.#run?.abort(new Error(`paused by the ${reason === 'hidden' ? 'hidden tab' : 'visitor'}`))
    this.#run = undefined
    this.#buttons(false, true)
    this.#status(reason === 'hidden' ? 'Paused while this tab is hidden' : 'Paused')
    this.#emit('tabswarm-paused', { reason })
  }

  #stop(reason: 'visitor' | 'removed'): void {
    this.#run?.abort(new Error(`stopped: ${reason}`))
    this.#run = undefined
    this.#hiddenPause = false
    this.#buttons(false, false)
    this.#el('start').textContent = 'Start again'
    this.#status('Stopped')
    this.#emit('tabswarm-stopped', { reason })
  }

  async #exportKey(): Promise<void> {
    const input = this.#el('key') as HTMLInputElement
    try {
      input.value = await (await this.#lazyPart()).exportWidgetKey()
    } catch (err) {
      input.value = (err as Error).message
    }
    input.hidden = false
  }
}

/** Defines the element once, however many times the loader is included. */
export function defineContributorElement(): void {
  if (!customElements.get(WIDGET_TAG)) customElements.define(WIDGET_TAG, ContributorElement)
}
