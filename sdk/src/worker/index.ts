export {
  type HeadlessWorkerOptions,
  type HeadlessWorkerSummary,
  runHeadlessWorker,
} from './headless-worker.ts'
export { resolveRelay } from './resolve-relay.ts'
export { defaultWalletKeyPath, loadWorkerWallet } from './worker-wallet.ts'
