// The suite's dedicated worker: exactly the entry the contributor page's worker imports.
import '@tabswarm/worker-kernels/worker'
