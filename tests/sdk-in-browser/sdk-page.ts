/**
 * A page that imports the SDK's browser entry as a researcher's app would (bundled by
 * Vite, no Node polyfills) and hands it to the test. Served from the relay's own origin.
 */
import * as sdk from '@tabswarm/sdk'

declare global {
  interface Window {
    tabswarmSdk: typeof sdk
  }
}

window.tabswarmSdk = sdk
document.body.dataset.ready = 'true'
