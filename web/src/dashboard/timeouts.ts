/** Each request to the relay that is not an event stream gives up after this long. */
export const REQUEST_TIMEOUT_MS = 30_000
/** How often a running job's detail (its history for the chart) is read between events. */
export const DETAIL_REFRESH_MS = 2_000
/** How often the contributors-online figures are read. */
export const STATS_REFRESH_MS = 10_000
/** Largest `.npy` file the page reads into memory (the relay caps blobs too). */
export const MAX_NPY_FILE_BYTES = 256 * 1024 * 1024
/** Largest WGSL file the page reads. */
export const MAX_WGSL_FILE_BYTES = 256 * 1024
/** A matmul's product C, downloaded at once (up to the relay's blob cap), gives up after this long. */
export const DOWNLOAD_TIMEOUT_MS = 5 * 60_000
