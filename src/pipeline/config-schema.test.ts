import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { Ajv } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { PROFILES } from './config.js';
import { publishedSchema, publishedSchemaText } from './config-schema.js';

const SCHEMA_FILE = new URL('../../../schemas/kiln.schema.json', import.meta.url);

describe('the published JSON Schema of kiln.yml', () => {
  test('schemas/kiln.schema.json is the schema the code validates with (run `npm run build:schema` after changing it)', async () => {
    assert.equal(await readFile(SCHEMA_FILE, 'utf8'), publishedSchemaText());
  });

  test('an independent JSON Schema validator (ajv) accepts every built-in profile and a file with profiles of its own', () => {
    const validate = new Ajv({ allErrors: true }).compile(publishedSchema());
    for (const { profile: _name, ...profile } of Object.values(PROFILES)) assert.ok(validate(profile), JSON.stringify(validate.errors));
    const file = parseYaml('profile: tiny\nstudy: { workers: 2 }\nprofiles:\n  tiny: { study: { name: tiny, n_trials: 2 }, training: { epochs: 1 } }\n');
    assert.ok(validate(file), JSON.stringify(validate.errors));
  });

  test('and refuses what Kiln refuses: an unknown key, a value out of range, an unknown sampler, a typo inside a profile', () => {
    const validate = new Ajv().compile(publishedSchema());
    for (const yaml of ['study: { n_trails: 3 }', 'study: { workers: 0 }', 'study: { sampler: cmaes }', 'profiles: { tiny: { training: { epocs: 1 } } }', 'search_space: { model: rnn }']) {
      assert.equal(validate(parseYaml(yaml)), false, yaml);
    }
  });

  test('keys carry descriptions (editors show them), and those a flag sets name it', () => {
    const schema = publishedSchema() as { properties: { study: { properties: Record<string, { description?: string }> } } };
    assert.match(schema.properties.study.properties.n_trials.description ?? '', /--n-trials/);
    assert.ok(Object.values(schema.properties.study.properties).every((property) => typeof property.description === 'string'));
  });
});
