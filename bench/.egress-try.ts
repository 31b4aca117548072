import { fileURLToPath } from 'node:url'
import { measureJobEgress } from './areas/swarm-job-egress.ts'

const root = fileURLToPath(new URL('../web/dist', import.meta.url))
const rows = await measureJobEgress(root, (l) => console.log(l))
console.log(JSON.stringify(rows, null, 1))
