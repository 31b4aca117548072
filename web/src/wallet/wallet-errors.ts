import { TabswarmError } from '@tabswarm/protocol'

/** Text pasted as a private key is no usable key; the message names what is wrong. */
export class InvalidWalletKeyError extends TabswarmError {
  override name = 'InvalidWalletKeyError' as const
  constructor(problem: string) {
    super(`not a private key: ${problem}`, { code: 'INVALID_WALLET_KEY' })
  }
}

/** The page found no EIP-1193 wallet (`window.ethereum`) to use. */
export class NoInjectedWalletError extends TabswarmError {
  override name = 'NoInjectedWalletError' as const
  constructor() {
    super(
      'no browser wallet found (window.ethereum): install or enable one (e.g. MetaMask), or keep this browser’s own key',
      { code: 'NO_INJECTED_WALLET' },
    )
  }
}

/** The visitor declined in the wallet (connecting, switching chain, signing). */
export class WalletRefusedError extends TabswarmError {
  override name = 'WalletRefusedError' as const
  constructor(what: string, cause?: unknown) {
    super(`the wallet declined ${what}: approve it in the wallet to go on`, {
      code: 'WALLET_REFUSED',
      cause,
    })
  }
}

/** EIP-1193's "user rejected the request", however deep the wallet or viem wrapped it. */
export function isUserRejection(err: unknown): boolean {
  for (
    let e = err as { code?: unknown; cause?: unknown } | undefined;
    e != null;
    e = e.cause as typeof e
  )
    if (e.code === 4001 || (e as { name?: unknown }).name === 'UserRejectedRequestError')
      return true
  return false
}
