#!/usr/bin/env node
// Writes schemas/kiln.schema.json, the JSON Schema of kiln.yml, from the configuration schema
// (src/pipeline/config-schema.ts, compiled into dist/ by `tsc`). Editors use it to complete and
// check kiln.yml; src/pipeline/config-schema.test.ts fails when the checked-in file is stale.
//   node scripts/build-config-schema.mjs          write the file
//   node scripts/build-config-schema.mjs --check  exit 1 if the checked-in file differs
import { readFileSync, writeFileSync } from 'node:fs';
import { publishedSchemaText } from '../dist/src/pipeline/config-schema.js';

const path = new URL('../schemas/kiln.schema.json', import.meta.url);
const text = publishedSchemaText();
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    // missing counts as stale
  }
  if (current !== text) {
    console.error('schemas/kiln.schema.json is stale: run `npm run build:schema`');
    process.exit(1);
  }
} else {
  writeFileSync(path, text);
  console.log('wrote schemas/kiln.schema.json');
}
