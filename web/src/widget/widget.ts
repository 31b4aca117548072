/**
 * The widget's loader, `widget.js` on the relay: a site includes it with one tag and places
 * `<tabswarm-contributor relay="https://RELAY" site="0x…">`. It stays tiny (at most 3 KB
 * gzipped, checked by tests/e2e/widget-size.test.ts): the element and its consent prompt only.
 */
import { defineContributorElement } from './contributor-element.ts'

defineContributorElement()
