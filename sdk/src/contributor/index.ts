/** Browser-safe contributor entry point, shared by tabs and the headless Node worker. */

// The abortable waits the loop uses, for the tab's swarm code to share rather than copy.
export { delay } from '../client/delay.ts'
export { untilAborted } from '../client/until-aborted.ts'

export { capabilitiesOf } from './capabilities.ts'
export type { ContributorEvent } from './contributor-events.ts'
export type {
  ContributorOptions,
  ContributorSummary,
  ContributorWallet,
  KernelExecutor,
} from './contributor-loop.ts'
export { runContributor } from './contributor-loop.ts'
export { measureMatmulGflops, SPEED_PROBE_EDGE } from './measure-speed.ts'
export { TaskStoppedError, type TaskStopReason } from './task-stopped-error.ts'
export { type WorkChannel, workChannelOver } from './work-channel.ts'
