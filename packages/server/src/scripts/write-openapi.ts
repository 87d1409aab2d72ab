import { writeFileSync } from 'node:fs';
import { openApiDocument } from '../openapi-document.js';

// Regenerates docs/openapi.json from the route schemas (run from the repository root: npm run openapi).
const target = new URL('../../../../docs/openapi.json', import.meta.url);
writeFileSync(target, `${JSON.stringify(await openApiDocument(), null, 2)}\n`);
process.stdout.write(`wrote ${target.pathname}\n`);
