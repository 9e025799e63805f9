import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DataError, type DataErrorCode } from './errors.js';
import { catalogFolder } from './catalog-folder.js';
import { tempDir } from './test-fixtures.js';
import { writeFolder, writeImage } from './test-images.js';

const refused = (code: DataErrorCode, ...names: string[]) => (error: unknown): boolean => {
  assert.ok(error instanceof DataError, String(error));
  assert.equal(error.code, code, error.message);
  for (const name of names) assert.ok(error.message.includes(name), `message names ${name}:\n${error.message}`);
  return true;
};

async function withDir(run: (root: string) => Promise<void>): Promise<void> {
  const dir = await tempDir('kiln-catalog-folder-');
  try {
    await run(dir.path);
  } finally {
    await dir.cleanup();
  }
}

describe('catalogFolder: layouts', () => {
  test('<root>/<class>/<image>: classes are the sorted folder names, no split given, hidden files ignored silently', () => withDir(async (root) => {
    await writeFolder(root, { dog: 2, cat: 3, 'Bird-2': 1 });
    await writeFile(join(root, 'cat', '.DS_Store'), 'junk');
    await writeFile(join(root, 'dog', 'Thumbs.db'), 'junk');
    await mkdir(join(root, '.git'));
    await writeFile(join(root, '.git', 'HEAD'), 'ref');
    const catalog = await catalogFolder(root);
    assert.deepEqual(catalog.classNames, ['Bird-2', 'cat', 'dog']);
    assert.deepEqual(catalog.items.map((i) => [i.relPath, i.label, i.split]), [
      ['Bird-2/000.png', 0, undefined],
      ['cat/000.png', 1, undefined], ['cat/001.png', 1, undefined], ['cat/002.png', 1, undefined],
      ['dog/000.png', 2, undefined], ['dog/001.png', 2, undefined],
    ]);
    assert.equal(catalog.items[0].path, join(root, 'Bird-2', '000.png'));
    assert.equal(catalog.sourceType, 'folder');
    assert.deepEqual(catalog.warnings, []);
  }));

  test('<root>/{train,val,test}/<class>: splits come from the folders, classes from all of them', () => withDir(async (root) => {
    await writeFolder(root, { 'train/cat': 2, 'train/dog': 2, 'val/cat': 1, 'test/dog': 1, 'test/cat': 1 });
    const catalog = await catalogFolder(root);
    assert.deepEqual(catalog.classNames, ['cat', 'dog']);
    assert.deepEqual(catalog.items.map((i) => `${i.relPath}:${i.label}:${i.split}`), [
      'test/cat/000.png:0:test', 'test/dog/000.png:1:test',
      'train/cat/000.png:0:train', 'train/cat/001.png:0:train', 'train/dog/000.png:1:train', 'train/dog/001.png:1:train',
      'val/cat/000.png:0:validation',
    ]);
  }));

  test('class folders are walked recursively; loose files beside them are skipped with a warning', () => withDir(async (root) => {
    await writeFolder(root, { cat: 1, 'cat/indoor': 1, dog: 1 });
    await writeFile(join(root, 'README.md'), '# my pets');
    const catalog = await catalogFolder(root);
    assert.deepEqual(catalog.items.map((i) => i.relPath), ['cat/000.png', 'cat/indoor/000.png', 'dog/000.png']);
    assert.equal(catalog.warnings.length, 1);
    assert.match(catalog.warnings[0], /README\.md/);
  }));

  test('an image without an image extension is still an image (sniffed by its first bytes)', () => withDir(async (root) => {
    await writeFolder(root, { cat: 1, dog: 1 });
    await writeImage(join(root, 'dog', 'photo'), { width: 4, height: 4, channels: 3, format: 'jpeg', seed: 9 });
    const catalog = await catalogFolder(root);
    assert.deepEqual(catalog.items.map((i) => i.relPath), ['cat/000.png', 'dog/000.png', 'dog/photo']);
  }));

  test('symlinks that stay inside the root are followed', () => withDir(async (root) => {
    await writeFolder(join(root, 'pets'), { cat: 2, dog: 1 });
    await symlink(join(root, 'pets', 'cat', '000.png'), join(root, 'pets', 'dog', 'linked.png'));
    const catalog = await catalogFolder(join(root, 'pets'));
    assert.ok(catalog.items.some((i) => i.relPath === 'dog/linked.png' && i.label === 1));
  }));

  test('a symlink loop (a folder linking to itself or to the root) is walked once', () => withDir(async (root) => {
    await writeFolder(root, { cat: 2, dog: 1 });
    await symlink(join(root, 'cat'), join(root, 'cat', 'again'));
    await symlink(root, join(root, 'dog', 'up'));
    const catalog = await catalogFolder(root);
    assert.deepEqual(catalog.items.map((i) => i.relPath), ['cat/000.png', 'cat/001.png', 'dog/000.png']);
  }));
});

describe('catalogFolder: refusals name every offending file or class', () => {
  test('files that are not images are refused, all of them named', () => withDir(async (root) => {
    await writeFolder(root, { cat: 2, dog: 2 });
    await writeFile(join(root, 'cat', 'notes.txt'), 'not an image');
    await writeFile(join(root, 'dog', 'fake.png'), 'also not an image');
    await assert.rejects(catalogFolder(root), refused('KILN_ERR_DATA_NOT_IMAGE', 'cat/notes.txt', 'dog/fake.png', '--skip-bad-images'));
  }));

  test('with skipBadImages, non-images are left out with a warning naming them', () => withDir(async (root) => {
    await writeFolder(root, { cat: 2, dog: 2 });
    await writeFile(join(root, 'cat', 'notes.txt'), 'not an image');
    const catalog = await catalogFolder(root, { skipBadImages: true });
    assert.equal(catalog.items.length, 4);
    assert.match(catalog.warnings.join('\n'), /skipped 1 file\(s\) that are not images[\s\S]*cat\/notes\.txt/);
  }));

  test('empty class folders are refused, each named', () => withDir(async (root) => {
    await writeFolder(root, { cat: 2, dog: 2 });
    await mkdir(join(root, 'fish'));
    await mkdir(join(root, 'hamster'));
    await writeFile(join(root, 'hamster', '.DS_Store'), 'x');
    await assert.rejects(catalogFolder(root), refused('KILN_ERR_DATA_EMPTY_CLASS', 'fish', 'hamster'));
  }));

  test('a class with test images but no training images is refused', () => withDir(async (root) => {
    await writeFolder(root, { 'train/cat': 2, 'train/dog': 2, 'test/cat': 1, 'test/owl': 1 });
    await assert.rejects(catalogFolder(root), refused('KILN_ERR_DATA_EMPTY_CLASS', 'owl', 'no training images'));
  }));

  test('a folder with one class is refused, naming the class', () => withDir(async (root) => {
    await writeFolder(root, { cat: 3 });
    await assert.rejects(catalogFolder(root), refused('KILN_ERR_DATA_ONE_CLASS', '"cat"', 'at least two'));
  }));

  test('a folder of loose images (no class folders) is refused with the layout to use', () => withDir(async (root) => {
    await writeImage(join(root, 'a.png'), { width: 4, height: 4, channels: 1, seed: 1 });
    await assert.rejects(catalogFolder(root), refused('KILN_ERR_DATA_ONE_CLASS', 'no class', '<root>/<class>/<image>'));
  }));

  test('symlinks leading outside the root are refused, each named with its target', () => withDir(async (root) => {
    await writeFolder(join(root, 'pets'), { cat: 2, dog: 2 });
    await writeImage(join(root, 'elsewhere', 'x.png'), { width: 4, height: 4, channels: 1, seed: 5 });
    await symlink(join(root, 'elsewhere', 'x.png'), join(root, 'pets', 'cat', 'out.png'));
    await symlink(join(root, 'elsewhere'), join(root, 'pets', 'dog', 'outdir'));
    await assert.rejects(catalogFolder(join(root, 'pets')), refused('KILN_ERR_DATA_OUTSIDE_ROOT', 'cat/out.png', 'dog/outdir', join(root, 'elsewhere')));
  }));

  test('split folders mixed with class folders are refused', () => withDir(async (root) => {
    await writeFolder(root, { 'train/cat': 1, 'train/dog': 1, bird: 1 });
    await assert.rejects(catalogFolder(root), refused('KILN_ERR_DATA_FORMAT', 'bird', 'train'));
  }));
});
