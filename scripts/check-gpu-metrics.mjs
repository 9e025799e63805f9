#!/usr/bin/env node
// Runs Kiln's built nvidia-smi collector once and prints the Prometheus text it exposes.
// Exit 0: GPU metrics came out, or there is no nvidia-smi on this machine (nothing to check).
// Exit 1: nvidia-smi exists but no kiln_gpu_* metric came out. Build first: npm run build.
//   node scripts/check-gpu-metrics.mjs
import { execFileSync } from 'node:child_process';
import { Registry } from 'prom-client';
import { registerGpuMetrics, nvidiaSmi } from '../dist/src/observability/gpu-metrics.js';

let hasSmi = true;
try {
  execFileSync('nvidia-smi', ['-L'], { stdio: 'ignore', timeout: 10_000 });
} catch (error) {
  hasSmi = error.code !== 'ENOENT';
}
const registry = new Registry();
const started = performance.now();
const state = await registerGpuMetrics(registry, { run: nvidiaSmi() });
const text = await registry.metrics();
process.stdout.write(text);
const samples = text.split('\n').filter((line) => line.startsWith('kiln_gpu_'));
console.error(JSON.stringify({ nvidia_smi: hasSmi, gpus: state?.gpus.length ?? 0, samples: samples.length, ms: Math.round(performance.now() - started) }));
if (hasSmi && samples.length === 0) {
  console.error('check-gpu-metrics: nvidia-smi is present but no kiln_gpu_* metric came out');
  process.exit(1);
}
