import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DataError, type DataErrorCode } from './errors.js';
import { catalogManifest, parseCsv } from './catalog-manifest.js';
import { tempDir } from './test-fixtures.js';
import { writeFolder, writeImage } from './test-images.js';

const refused = (code: DataErrorCode, ...names: string[]) => (error: unknown): boolean => {
  assert.ok(error instanceof DataError, String(error));
  assert.equal(error.code, code, error.message);
  for (const name of names) assert.ok(error.message.includes(name), `message names ${name}:\n${error.message}`);
  return true;
};

async function withImages(run: (root: string) => Promise<void>): Promise<void> {
  const dir = await tempDir('kiln-catalog-manifest-');
  try {
    await writeFolder(join(dir.path, 'img'), { a: 3, b: 3 });
    await run(dir.path);
  } finally {
    await dir.cleanup();
  }
}

describe('parseCsv', () => {
  test('quoted fields hold commas, quotes and newlines; records know their first line', () => {
    const text = '\uFEFFpath,label\r\n"a, b.png",cat\r\n"say ""hi"".png","multi\nline"\n\nplain.png,dog';
    assert.deepEqual(parseCsv(text), [
      { line: 1, fields: ['path', 'label'] },
      { line: 2, fields: ['a, b.png', 'cat'] },
      { line: 3, fields: ['say "hi".png', 'multi\nline'] },
      { line: 6, fields: ['plain.png', 'dog'] },
    ]);
  });

  test('records without a quote split at commas: a lone CR ends a record, a quote inside a field is kept, empty fields count', () => {
    assert.deepEqual(parseCsv('path,label\ra"b.png,x\r\n,\n\nlast.png,y\n'), [
      { line: 1, fields: ['path', 'label'] },
      { line: 2, fields: ['a"b.png', 'x'] },
      { line: 3, fields: ['', ''] },
      { line: 5, fields: ['last.png', 'y'] },
    ]);
  });
});

describe('catalogManifest', () => {
  test('CSV path,label,split: paths relative to the manifest, classes the sorted labels, items in row order', () => withImages(async (root) => {
    await writeImage(join(root, 'img', 'b', 'with, comma.png'), { width: 4, height: 4, channels: 1, seed: 77 });
    await writeFile(join(root, 'pets.csv'), [
      'label,path,split,notes',
      'zebra,img/a/000.png,train,',
      'ant,img/b/000.png,,"hello, world"',
      'zebra,img/a/001.png,val,',
      'ant,"img/b/with, comma.png",test,x',
      'ant,./img/b/001.png,,',
      'zebra,img//a/002.png,,',
    ].join('\n'));
    const catalog = await catalogManifest(join(root, 'pets.csv'), 'csv');
    assert.equal(catalog.name, 'pets');
    assert.equal(catalog.root, root);
    assert.equal(catalog.sourceType, 'manifest');
    assert.deepEqual(catalog.classNames, ['ant', 'zebra']);
    assert.deepEqual(catalog.items.map((i) => [i.relPath, i.label, i.split]), [
      ['img/a/000.png', 1, 'train'],
      ['img/b/000.png', 0, undefined],
      ['img/a/001.png', 1, 'validation'],
      ['img/b/with, comma.png', 0, 'test'],
      ['img/b/001.png', 0, undefined],
      ['img/a/002.png', 1, undefined],
    ]);
    assert.equal(catalog.items[5].path, join(root, 'img', 'a', '002.png'));
    assert.equal(catalog.items[0].path, join(root, 'img', 'a', '000.png'));
  }));

  test('JSONL {"path", "label", "split"?}; numeric labels are class names too', () => withImages(async (root) => {
    await writeFile(join(root, 'm.jsonl'), [
      '{"path": "img/a/000.png", "label": 1}',
      '',
      '{"path": "img/b/000.png", "label": 0, "split": "test"}',
      '{"path": "img/b/001.png", "label": "0"}',
    ].join('\n'));
    const catalog = await catalogManifest(join(root, 'm.jsonl'), 'jsonl');
    assert.deepEqual(catalog.classNames, ['0', '1']);
    assert.deepEqual(catalog.items.map((i) => [i.relPath, i.label, i.split]), [['img/a/000.png', 1, undefined], ['img/b/000.png', 0, 'test'], ['img/b/001.png', 0, undefined]]);
  }));

  test('rows naming missing files are refused, every one with its line number', () => withImages(async (root) => {
    await writeFile(join(root, 'm.csv'), 'path,label\nimg/a/000.png,a\nimg/a/nope.png,a\nimg/b/000.png,b\nimg/b/gone.png,b\nimg/b,b\n');
    await assert.rejects(catalogManifest(join(root, 'm.csv'), 'csv'),
      refused('KILN_ERR_DATA_MISSING_FILE', 'line 3: img/a/nope.png', 'line 5: img/b/gone.png', 'line 6: img/b (a folder'));
  }));

  test('malformed rows are refused together: field counts, empty labels, unknown splits, duplicates, bad JSON', () => withImages(async (root) => {
    await writeFile(join(root, 'm.csv'), 'path,label,split\nimg/a/000.png,a,train\nimg/a/001.png,a\nimg/b/000.png,,\nimg/b/001.png,b,holdout\nimg/a/000.png,a,\n');
    await assert.rejects(catalogManifest(join(root, 'm.csv'), 'csv'),
      refused('KILN_ERR_DATA_MANIFEST', 'line 3: 2 field(s)', 'line 4: empty label', 'line 5: split "holdout"', 'line 6: img/a/000.png is listed again (first on line 2)'));
    await writeFile(join(root, 'm.jsonl'), '{"path": "img/a/000.png", "label": "a"}\n{oops\n{"file": "x.png"}\n');
    await assert.rejects(catalogManifest(join(root, 'm.jsonl'), 'jsonl'), refused('KILN_ERR_DATA_MANIFEST', 'line 2: not JSON', 'line 3: expected'));
  }));

  test('a CSV without the path,label header is refused', () => withImages(async (root) => {
    await writeFile(join(root, 'm.csv'), 'img/a/000.png,a\nimg/b/000.png,b\n');
    await assert.rejects(catalogManifest(join(root, 'm.csv'), 'csv'), refused('KILN_ERR_DATA_MANIFEST', 'line 1', 'path,label'));
  }));

  test('rows leading outside the manifest folder (.. or a symlink) are refused, each named', () => withImages(async (root) => {
    await mkdir(join(root, 'sub'));
    await writeImage(join(root, 'outside.png'), { width: 4, height: 4, channels: 1, seed: 3 });
    await symlink(join(root, 'outside.png'), join(root, 'sub', 'link.png'));
    await writeFolder(join(root, 'sub', 'img'), { a: 1, b: 1 });
    await symlink(join(root, 'img'), join(root, 'sub', 'linkdir'));
    await writeFile(join(root, 'sub', 'm.csv'), 'path,label\nimg/a/000.png,a\n../outside.png,a\nlink.png,b\nimg/b/000.png,b\nlinkdir/a/001.png,a\n');
    await assert.rejects(catalogManifest(join(root, 'sub', 'm.csv'), 'csv'),
      refused('KILN_ERR_DATA_OUTSIDE_ROOT', 'line 3: ../outside.png', `line 4: link.png -> ${join(root, 'outside.png')}`, `line 6: linkdir/a/001.png -> ${join(root, 'img', 'a', '001.png')}`));
  }));

  test('rows naming files that are not images are refused with line numbers', () => withImages(async (root) => {
    await writeFile(join(root, 'notes.txt'), 'hello');
    await writeFile(join(root, 'm.csv'), 'path,label\nimg/a/000.png,a\nnotes.txt,b\nimg/b/000.png,b\n');
    await assert.rejects(catalogManifest(join(root, 'm.csv'), 'csv'), refused('KILN_ERR_DATA_NOT_IMAGE', 'line 3: notes.txt'));
  }));

  test('a manifest with a single label is refused', () => withImages(async (root) => {
    await writeFile(join(root, 'm.csv'), 'path,label\nimg/a/000.png,a\nimg/a/001.png,a\n');
    await assert.rejects(catalogManifest(join(root, 'm.csv'), 'csv'), refused('KILN_ERR_DATA_ONE_CLASS', '"a"'));
  }));
});
