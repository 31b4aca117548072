// The dedicated worker that owns this tab's GPU device; the page talks to it through comlink.
import '@tabswarm/worker-kernels/worker'
