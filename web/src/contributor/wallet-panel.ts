import { formatAmount, type Settlement, type WalletCredits } from '@tabswarm/sdk'

/** Where the tab's wallet comes from: this browser's own key, or the visitor's wallet. */
export type WalletSource = 'local' | 'injected'

const SOURCE_TEXT: Record<WalletSource, string> = {
  local: 'this browser’s own key (kept in this browser; export it to keep it)',
  injected: 'your browser wallet',
}

export type ClaimState = 'idle' | 'working' | 'done' | 'error'

/**
 * The wallet part of the contributor page: the address and where its key lives, the three
 * figures, the claim and its progress, export and import. Stable `data-testid`s, and the
 * exact figures in base units on `data-units`, let tests read it without parsing text.
 */
export function createWalletPanel(doc: Document) {
  const el = <T extends HTMLElement = HTMLElement>(id: string) => doc.getElementById(id) as T
  const show = (id: string, text: string | undefined) => {
    const node = el(id)
    node.textContent = text ?? ''
    node.hidden = !text
  }

  return {
    claimButton: el<HTMLButtonElement>('claim'),
    useInjectedButton: el<HTMLButtonElement>('wallet-injected'),
    useLocalButton: el<HTMLButtonElement>('wallet-local'),
    exportButton: el<HTMLButtonElement>('wallet-export'),
    importForm: el<HTMLFormElement>('wallet-import'),

    wallet(address: string, source: WalletSource): void {
      el('wallet-address').textContent = address
      const sourceEl = el('wallet-source')
      sourceEl.textContent = SOURCE_TEXT[source]
      sourceEl.dataset.source = source
      // Only this browser's key can be exported; a browser wallet keeps its own.
      el<HTMLButtonElement>('wallet-export').hidden = source !== 'local'
      el<HTMLButtonElement>('wallet-local').hidden = source !== 'injected'
      el<HTMLButtonElement>('wallet-injected').hidden = source === 'injected'
    },

    /** The wallet could not be set up at all: the tab contributes credited to its peer id. */
    noWallet(reason: string): void {
      el('wallet-address').textContent = 'none'
      el('wallet-source').textContent = 'none: credits go to this tab’s peer id'
      show('wallet-error', reason)
    },

    /** The site whose widget this tab joined through: its share of the earnings goes there. */
    site(address: string | undefined): void {
      show(
        'wallet-site',
        address && `${address} (the site you joined through: it is paid a share of what you earn)`,
      )
      el('wallet-site-label').hidden = address == null
    },

    siteError(message: string | undefined): void {
      show('site-error', message)
    },

    error(message: string | undefined): void {
      show('wallet-error', message)
    },

    /** The three figures, exact, with the token's symbol; the raw base units on `data-units`. */
    figures(credits: WalletCredits, settlement: Settlement, claiming: boolean): void {
      for (const [id, units] of [
        ['credits-pending', credits.pending],
        ['credits-claimable', credits.claimable],
        ['credits-claimed', credits.claimed],
      ] as const) {
        const node = el(id)
        node.textContent = formatAmount(units, settlement.token)
        node.dataset.units = units.toString()
      }
      el('credits-status').textContent =
        credits.claimable > 0n
          ? `in epoch ${credits.claim?.epoch}: claim to receive it in this wallet`
          : credits.pending > 0n
            ? settlement.epochIntervalMs != null
              ? `pending credits become claimable when the next epoch closes (every ${Math.round(settlement.epochIntervalMs / 60_000)} min)`
              : 'pending credits become claimable when the operator closes the next epoch'
            : 'nothing earned yet: contribute, and verified work is credited here'
      el<HTMLButtonElement>('claim').disabled = claiming || credits.claimable === 0n
    },

    /** Why the figures are not shown (no settlement on this relay, the relay unreachable). */
    figuresUnavailable(reason: string): void {
      el('credits-status').textContent = reason
      el<HTMLButtonElement>('claim').disabled = true
    },

    /** What the claim waits for, or how it ended; the transaction on `data-tx-hash`. */
    claim(state: ClaimState, text: string, txHash?: string): void {
      const node = el('claim-status')
      node.dataset.state = state
      node.textContent = text
      if (txHash) node.dataset.txHash = txHash
      else if (state === 'working' && !text.includes('0x')) delete node.dataset.txHash
    },

    exportPanel(key: string | undefined): void {
      el<HTMLInputElement>('wallet-export-key').value = key ?? ''
      el('wallet-export-panel').hidden = key == null
    },

    /** Saves the shown key as a file, `tabswarm-wallet-<address>.key`. */
    downloadKey(address: string): void {
      const url = URL.createObjectURL(
        new Blob([`${el<HTMLInputElement>('wallet-export-key').value}\n`], { type: 'text/plain' }),
      )
      const link = doc.createElement('a')
      link.href = url
      link.download = `tabswarm-wallet-${address}.key`
      link.click()
      setTimeout(() => URL.revokeObjectURL(url), 60_000)
    },

    importedKeyText(): string {
      return el<HTMLInputElement>('wallet-import-key').value
    },

    clearImport(): void {
      el<HTMLInputElement>('wallet-import-key').value = ''
    },

    copyButton: el<HTMLButtonElement>('wallet-export-copy'),
    downloadButton: el<HTMLButtonElement>('wallet-export-download'),
    hideExportButton: el<HTMLButtonElement>('wallet-export-hide'),
    exportedKey: () => el<HTMLInputElement>('wallet-export-key').value,
  }
}

export type WalletPanel = ReturnType<typeof createWalletPanel>
