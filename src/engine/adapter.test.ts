import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gpuDeviceNodes, probeAdapter } from './adapter.js';

describe('engine/adapter', () => {
  test('gpuDeviceNodes finds DRM render nodes, NVIDIA devices and WSL\'s dxg, and nothing else', async () => {
    const dev = await mkdtemp(join(tmpdir(), 'kiln-dev-'));
    try {
      assert.deepEqual(gpuDeviceNodes(dev), []);
      await mkdir(join(dev, 'dri'));
      for (const name of ['card0', 'renderD128']) await writeFile(join(dev, 'dri', name), '');
      for (const name of ['nvidia0', 'nvidiactl', 'nvidia-uvm', 'dxg', 'null']) await writeFile(join(dev, name), '');
      assert.deepEqual(gpuDeviceNodes(dev).sort(), [join(dev, 'dri', 'renderD128'), join(dev, 'dxg'), join(dev, 'nvidia0')].sort());
    } finally {
      await rm(dev, { recursive: true, force: true });
    }
  });

  test('auto with no GPU device and no Vulkan driver named in the environment is answered at once, saying how to try a software adapter', async () => {
    const saved = { icd: process.env.VK_ICD_FILENAMES, drivers: process.env.VK_DRIVER_FILES };
    delete process.env.VK_ICD_FILENAMES;
    delete process.env.VK_DRIVER_FILES;
    try {
      const probe = await probeAdapter('auto', []);
      assert.equal(probe.ok, false);
      assert.match(probe.ok ? '' : probe.reason, /no GPU device \(\/dev\/dri\/renderD\*.*--device gpu also tries a software adapter/);
    } finally {
      if (saved.icd !== undefined) process.env.VK_ICD_FILENAMES = saved.icd;
      if (saved.drivers !== undefined) process.env.VK_DRIVER_FILES = saved.drivers;
    }
  });
});
