export {
  type HeadlessWorkerOptions,
  type HeadlessWorkerStart,
  type HeadlessWorkerSummary,
  runHeadlessWorker,
} from './headless-worker.ts'
export { resolveRelay, resolveRelays } from './resolve-relay.ts'
export { loadWorkerPeerKey, peerKeyPathFor, type WorkerPeerKey } from './worker-peer-key.ts'
export { defaultWalletKeyPath, loadWorkerWallet } from './worker-wallet.ts'
