import { createDiskBlobStore } from '../../blobs/disk-blob-store.ts'
import { createTieredBlobStore } from '../../blobs/tiered-blob-store.ts'
import { type CoordinatorOptions, createCoordinator } from '../../coordinator/coordinator.ts'
import { type ClusterNodeOptions, startClusterNode } from '../cluster-node.ts'
import { openClusterStore } from '../cluster-store.ts'
import { sharedInputsIn } from '../shared-inputs.ts'

export interface ClusterMemberOptions {
  /** The blob directory the cluster's relays share (large blobs, and offered tasks' inputs). */
  blobDir: string
  leaseMs: number
  renewMs: number
  /** Put offered tasks' inputs in `blobDir`, and read others' from it: tasks are shared. */
  shareTasks?: boolean
  coordinator?: Omit<CoordinatorOptions, 'store' | 'blobs'>
  node?: Pick<ClusterNodeOptions, 'handoffAfterMs' | 'idleTakeoverDelayMs'>
}

/**
 * A relay/coordinator of a cluster in this process, assembled as `startTabswarm` assembles one
 * on `--database`: the cluster store, small blobs in it (so in the database) and large ones
 * in the shared directory, the coordinator over both, and its cluster node.
 */
export async function startClusterMember(url: string, options: ClusterMemberOptions) {
  const cluster = await openClusterStore({
    url,
    leaseMs: options.leaseMs,
    renewMs: options.renewMs,
  })
  const files = createDiskBlobStore({ dir: options.blobDir })
  const coordinator = createCoordinator({
    ...options.coordinator,
    store: cluster.working,
    blobs: createTieredBlobStore({ store: cluster.working, large: files }),
  })
  const node = await startClusterNode({
    ...options.node,
    cluster,
    coordinator,
    ...(options.shareTasks ? { sharedInputs: sharedInputsIn(files) } : {}),
  })
  return {
    cluster,
    coordinator,
    node,
    async stop() {
      await node.stop()
      coordinator.close()
      await cluster.close()
    },
  }
}

export type ClusterMember = Awaited<ReturnType<typeof startClusterMember>>
