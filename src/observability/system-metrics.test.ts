import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { nvidiaSmi, parseNvidiaSmi, registerGpuMetrics } from './gpu-metrics.js';
import { parseDiskStats, parseNetDev, parseProcStat, registerHostMetrics } from './host-metrics.js';
import { TrainingMetrics } from './trainer-metrics.js';

// `nvidia-smi --query-gpu=index,name,uuid,utilization.gpu,utilization.memory,memory.used,memory.total,
// temperature.gpu,power.draw,power.limit --format=csv,noheader,nounits` on a two-GPU box (a busy A100
// and an idle consumer card that reports no power reading), in the driver's own spacing.
const CAPTURED = `0, NVIDIA A100-SXM4-40GB, GPU-2b7a5f0e-8c1d-4d3e-9f6a-1b2c3d4e5f60, 87, 41, 30517, 40960, 64, 312.45, 400.00
1, NVIDIA GeForce GTX 1080 Ti, GPU-9e8d7c6b-5a49-3827-1605-f4e3d2c1b0a9, 0, 0, 2, 11264, 38, [N/A], [N/A]
`;

const MIB = 1024 * 1024;

function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

describe('GPU metrics from nvidia-smi', () => {
  test('the CSV is parsed into base units; [N/A] becomes no value', () => {
    const [a100, gtx] = parseNvidiaSmi(CAPTURED);
    assert.deepEqual(a100, {
      index: '0',
      name: 'NVIDIA A100-SXM4-40GB',
      uuid: 'GPU-2b7a5f0e-8c1d-4d3e-9f6a-1b2c3d4e5f60',
      utilization: 0.87,
      memoryUtilization: 0.41,
      memoryUsedBytes: 30517 * MIB,
      memoryTotalBytes: 40960 * MIB,
      temperatureCelsius: 64,
      powerWatts: 312.45,
      powerLimitWatts: 400,
    });
    assert.equal(gtx?.powerWatts, null);
    assert.equal(gtx?.temperatureCelsius, 38);
    assert.deepEqual(parseNvidiaSmi('No devices were found\n'), []);
    assert.deepEqual(parseNvidiaSmi(''), []);
  });

  test('gauges per GPU, labelled by index, name and uuid, read again at each scrape', async () => {
    const registry = new Registry();
    let utilization = 87;
    const run = async (): Promise<string> => CAPTURED.replace(', 87, ', `, ${utilization}, `);
    assert.ok(await registerGpuMetrics(registry, { run, cacheMs: 0 }));
    let text = await registry.metrics();
    assert.equal(sample(text, 'kiln_gpu_utilization_ratio', 'gpu="0"'), 0.87);
    assert.equal(sample(text, 'kiln_gpu_memory_used_bytes', 'gpu="0"'), 30517 * MIB);
    assert.equal(sample(text, 'kiln_gpu_memory_total_bytes', 'gpu="1"'), 11264 * MIB);
    assert.equal(sample(text, 'kiln_gpu_temperature_celsius', 'name="NVIDIA GeForce GTX 1080 Ti"'), 38);
    assert.equal(sample(text, 'kiln_gpu_power_watts', 'gpu="0"'), 312.45);
    assert.equal(sample(text, 'kiln_gpu_power_watts', 'gpu="1"'), undefined, 'no power reading: no sample');
    utilization = 12;
    text = await registry.metrics();
    assert.equal(sample(text, 'kiln_gpu_utilization_ratio', 'gpu="0"'), 0.12);
  });

  test('without nvidia-smi nothing is registered and nothing fails', async () => {
    const registry = new Registry();
    assert.equal(await registerGpuMetrics(registry, { run: nvidiaSmi('/nonexistent/nvidia-smi') }), null);
    assert.doesNotMatch(await registry.metrics(), /kiln_gpu_/);
    // The real PATH lookup: this machine has no GPU unless nvidia-smi is installed.
    const metrics = new TrainingMetrics({ hostMetrics: false });
    const found = await metrics.addGpuMetrics();
    const text = await metrics.registry.metrics();
    assert.equal(/kiln_gpu_utilization_ratio\{/.test(text), found);
  });

  test('an nvidia-smi that lists no GPU leaves the metrics absent', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-smi-'));
    try {
      const fake = join(dir, 'nvidia-smi');
      writeFileSync(fake, '#!/bin/sh\necho "No devices were found"\nexit 6\n');
      chmodSync(fake, 0o755);
      const registry = new Registry();
      assert.equal(await registerGpuMetrics(registry, { run: nvidiaSmi(fake) }), null);
      assert.equal(await registry.metrics(), '\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('built-in host metrics', () => {
  test('/proc parsers', () => {
    const stat = parseProcStat('cpu  1000 20 300 5000 40 0 6 0 0 0\ncpu0 500 10 150 2500 20 0 3 0 0 0\n');
    assert.deepEqual(stat, { user: 10, nice: 0.2, system: 3, idle: 50, iowait: 0.4, irq: 0, softirq: 0.06, steal: 0 });
    const net = parseNetDev(
      'Inter-|   Receive                                                |  Transmit\n' +
        ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n' +
        '    lo: 1000 10 0 0 0 0 0 0 1000 10 0 0 0 0 0 0\n' +
        '  eth0: 123456 100 0 0 0 0 0 0 654321 90 0 0 0 0 0 0\n',
    );
    assert.deepEqual(net, [{ device: 'eth0', receive: 123456, transmit: 654321 }]);
    const disks = parseDiskStats('   8       0 sda 100 0 2048 10 50 0 4096 20 0 30 30 0 0 0 0\n   8       1 sda1 90 0 2000 9 45 0 4000 19 0 28 28 0 0 0 0\n   7       0 loop0 1 0 8 0 0 0 0 0 0 0 0 0 0 0 0\n');
    assert.deepEqual(disks, [{ device: 'sda', read: 2048 * 512, written: 4096 * 512 }]);
  });

  test('CPU, memory, disk space and network of this host on /metrics', async () => {
    const registry = new Registry();
    registerHostMetrics(registry, { paths: [tmpdir()] });
    const text = await registry.metrics();
    assert.ok((sample(text, 'kiln_host_cpu_seconds_total', 'mode="idle"') ?? 0) > 0);
    assert.ok(Number(/kiln_host_memory_total_bytes (\d+)/.exec(text)?.[1]) > 100 * MIB);
    assert.ok(Number(/kiln_host_memory_available_bytes (\d+)/.exec(text)?.[1]) > 0);
    assert.ok((sample(text, 'kiln_host_filesystem_size_bytes', `path="${tmpdir()}"`) ?? 0) > 0);
    assert.ok((sample(text, 'kiln_host_filesystem_avail_bytes', `path="${tmpdir()}"`) ?? -1) >= 0);
    assert.match(text, /# TYPE kiln_host_network_receive_bytes_total counter/);
    // Counters never go down between scrapes.
    const before = sample(text, 'kiln_host_cpu_seconds_total', 'mode="user"') ?? 0;
    for (let i = 0; i < 2e6; i++) Math.sqrt(i);
    const later = sample(await registry.metrics(), 'kiln_host_cpu_seconds_total', 'mode="user"') ?? 0;
    assert.ok(later >= before);
  });
});
