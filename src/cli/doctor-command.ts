/**
 * cli/doctor-command — `kiln doctor`: what this machine trains on. The CPU engine (tfjs wasm, and
 * whether OpenBLAS loaded), the WebGPU adapter Dawn finds (or why none), what `--device auto`
 * would pick, the GPU device nodes and the Vulkan drivers installed. Nothing is trained.
 */
import { readdirSync } from 'node:fs';
import type { Command } from 'commander';

const ICD_FOLDERS = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];

/** The Vulkan driver manifests (ICDs) installed: the vendor drivers the loader can offer. */
function vulkanDrivers(): string[] {
  return ICD_FOLDERS.flatMap((folder) => {
    try {
      return readdirSync(folder).filter((name) => name.endsWith('.json')).map((name) => `${folder}/${name}`);
    } catch {
      return [];
    }
  });
}

async function doctor(flags: { json?: boolean }): Promise<void> {
  const { initEngine, describeEngine, adapterLabel } = await import('../engine/index.js');
  const { probeAdapter } = await import('../engine/gpu.js');
  const { gpuDeviceNodes } = await import('../engine/adapter.js');
  const cpu = await initEngine({ quiet: true, device: 'cpu' });
  const probe = await probeAdapter('gpu');
  const gpu = probe.ok ? probe.info : null;
  const auto = (await probeAdapter('auto')).ok ? 'gpu' : 'cpu';
  const devices = gpuDeviceNodes();
  const drivers = vulkanDrivers();
  if (flags.json) {
    console.log(JSON.stringify({ cpu: { backend: cpu.backend, blas: cpu.blas }, gpu, gpu_reason: probe.ok ? null : probe.reason, auto, gpu_devices: devices, vulkan_drivers: drivers }));
    return;
  }
  console.log(describeEngine(cpu));
  if (!probe.ok) console.log(`GPU: none (${probe.reason})`);
  else console.log(`GPU: ${adapterLabel(probe.info)}${probe.info.software ? ' (software: used by --device gpu only)' : ''}`);
  console.log(`--device auto trains on: ${auto === 'gpu' ? 'the GPU' : 'the CPU'}`);
  console.log(`GPU devices: ${devices.length > 0 ? devices.join(', ') : 'none (no /dev/dri/renderD*, /dev/nvidia*, /dev/dxg)'}`);
  console.log(`Vulkan drivers: ${drivers.length > 0 ? drivers.join(', ') : 'none installed (a GPU needs its vendor\'s Vulkan driver)'}`);
}

export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description('show what this machine trains on: the CPU engine, the GPU adapter (or why none), what --device auto picks')
    .option('--json', 'print one JSON object')
    .action(doctor);
}
