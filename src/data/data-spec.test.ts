import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DataError } from './errors.js';
import { dataOptionsFromFlags, parseByteSize, parseColor, parseImageSize, parseSplitSize, resolveDataSource, sourceName } from './data-spec.js';
import { tempDir } from './test-fixtures.js';

const optionError = (field: string) => (error: unknown): boolean =>
  error instanceof DataError && error.code === 'KILN_ERR_DATA_OPTION' && error.message.includes(field);

describe('flag parsing', () => {
  test('--image-size takes N (square) or HxW', () => {
    assert.deepEqual(parseImageSize('32'), [32, 32]);
    assert.deepEqual(parseImageSize('32x48'), [32, 48]);
    assert.deepEqual(parseImageSize(' 28 X 28 '), [28, 28]);
    for (const bad of ['0', '32x', 'x32', '-4', '3.5', 'big', '5000']) assert.throws(() => parseImageSize(bad), optionError('--image-size'), bad);
  });

  test('--color takes gray or rgb', () => {
    assert.equal(parseColor('gray'), 'gray');
    assert.equal(parseColor('Grey'), 'gray');
    assert.equal(parseColor('rgb'), 'rgb');
    assert.throws(() => parseColor('cmyk'), optionError('--color'));
  });

  test('--val-size / --test-size take a count or a fraction', () => {
    assert.equal(parseSplitSize('500'), 500);
    assert.equal(parseSplitSize('0.15'), 0.15);
    assert.equal(parseSplitSize('15%'), 0.15);
    assert.equal(parseSplitSize('0'), 0);
    for (const bad of ['1.5', '-0.1', 'abc', '100%']) assert.throws(() => parseSplitSize(bad, '--test-size'), optionError('--test-size'), bad);
  });

  test('--max-memory takes bytes with decimal or binary units', () => {
    assert.equal(parseByteSize('2GiB'), 2 * 1024 ** 3);
    assert.equal(parseByteSize('512MB'), 512e6);
    assert.equal(parseByteSize('512mib'), 512 * 1024 ** 2);
    assert.equal(parseByteSize('1.5G'), 1.5 * 1024 ** 3);
    assert.equal(parseByteSize('1000000'), 1e6);
    for (const bad of ['', '0', 'lots', '2 parsecs']) assert.throws(() => parseByteSize(bad), optionError('--max-memory'), bad);
  });
});

describe('dataOptionsFromFlags', () => {
  test('CLI strings and YAML numbers give the same options; nothing given, nothing set', () => {
    const cli = dataOptionsFromFlags({ data: './pets', imageSize: '32', color: 'gray', valSize: '0.15', testSize: '100', splitSeed: '7', maxMemory: '2GiB', skipBadImages: true, cache: 'folders' });
    const yaml = dataOptionsFromFlags({ data: './pets', imageSize: 32, color: 'gray', valSize: 0.15, testSize: 100, splitSeed: 7, maxMemory: '2GiB', skipBadImages: true, cache: 'folders' });
    assert.deepEqual(cli, { data: './pets', imageSize: [32, 32], color: 'gray', valSize: 0.15, testSize: 100, splitSeed: 7, maxMemoryBytes: 2 * 1024 ** 3, skipBadImages: true, cache: 'folders' });
    assert.deepEqual(yaml, cli);
    assert.deepEqual(dataOptionsFromFlags({}), {});
    assert.throws(() => dataOptionsFromFlags({ splitSeed: 'abc' }), optionError('--split-seed'));
  });
});

describe('resolveDataSource', () => {
  test('fashion-mnist (or nothing) is the builtin; folders, manifests and IDX folders are told apart', async () => {
    const dir = await tempDir();
    try {
      assert.deepEqual(await resolveDataSource(undefined), { kind: 'builtin' });
      assert.deepEqual(await resolveDataSource('fashion-mnist'), { kind: 'builtin' });
      await mkdir(join(dir.path, 'pets'));
      await mkdir(join(dir.path, 'digits'));
      await writeFile(join(dir.path, 'digits', 'train-images-idx3-ubyte.gz'), '');
      await writeFile(join(dir.path, 'labels.csv'), 'path,label\n');
      await writeFile(join(dir.path, 'labels.jsonl'), '');
      assert.deepEqual(await resolveDataSource('pets', dir.path), { kind: 'folder', path: join(dir.path, 'pets') });
      assert.deepEqual(await resolveDataSource('digits', dir.path), { kind: 'idx', path: join(dir.path, 'digits') });
      assert.deepEqual(await resolveDataSource('labels.csv', dir.path), { kind: 'manifest', path: join(dir.path, 'labels.csv'), format: 'csv' });
      assert.deepEqual(await resolveDataSource('labels.jsonl', dir.path), { kind: 'manifest', path: join(dir.path, 'labels.jsonl'), format: 'jsonl' });
      assert.deepEqual(await resolveDataSource('idx:a/x-images-idx3-ubyte,a/x-labels-idx1-ubyte,a/classes.txt', dir.path), {
        kind: 'idx', path: join(dir.path, 'a'),
        pairs: { images: join(dir.path, 'a/x-images-idx3-ubyte'), labels: join(dir.path, 'a/x-labels-idx1-ubyte') },
        classes: join(dir.path, 'a/classes.txt'),
      });
      assert.equal(sourceName(join(dir.path, 'labels.csv')), 'labels');
      assert.equal(sourceName(join(dir.path, 'pets')), 'pets');
    } finally {
      await dir.cleanup();
    }
  });

  test('a path that does not exist is KILN_ERR_DATA_NOT_FOUND naming it; a file of another kind is refused', async () => {
    const dir = await tempDir();
    try {
      await assert.rejects(resolveDataSource('nope', dir.path), (e: unknown) => e instanceof DataError && e.code === 'KILN_ERR_DATA_NOT_FOUND' && e.message.includes(join(dir.path, 'nope')));
      await writeFile(join(dir.path, 'notes.txt'), 'x');
      await assert.rejects(resolveDataSource('notes.txt', dir.path), optionError('--data'));
      await assert.rejects(resolveDataSource('idx:only-one', dir.path), optionError('--data'));
    } finally {
      await dir.cleanup();
    }
  });
});
