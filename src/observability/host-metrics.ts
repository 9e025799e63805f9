/**
 * observability/host-metrics — a small built-in host collector (CPU, memory, disk space, disk IO,
 * network IO of the machine the process runs on) for runs without node-exporter. In the Compose
 * stack node-exporter is the source of host metrics and the dashboards read its `node_*` series;
 * these `kiln_host_*` series carry the same meaning under Kiln's names, so both can be scraped
 * without clashing.
 *
 * Values are read from /proc and statfs at scrape time, asynchronously. On a system without
 * /proc (macOS), the /proc-based series are simply absent; memory and disk space still come from
 * Node's os and fs APIs.
 */
import { readFile, statfs } from 'node:fs/promises';
import { availableParallelism, freemem, totalmem } from 'node:os';
import { Counter, Gauge, type Registry } from 'prom-client';

const CPU_MODES = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'] as const;

/** Seconds per CPU mode summed over all CPUs, from the `cpu ` line of /proc/stat. */
export function parseProcStat(text: string, ticksPerSecond = 100): Record<string, number> | null {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return null;
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  const out: Record<string, number> = {};
  CPU_MODES.forEach((mode, i) => (out[mode] = (ticks[i] ?? 0) / ticksPerSecond));
  return out;
}

/** Bytes received and sent per interface (loopback excluded), from /proc/net/dev. */
export function parseNetDev(text: string): { device: string; receive: number; transmit: number }[] {
  return text
    .split('\n')
    .slice(2)
    .map((line) => line.trim())
    .filter((line) => line.includes(':'))
    .map((line) => {
      const [device = '', rest = ''] = line.split(':');
      const fields = rest.trim().split(/\s+/).map(Number);
      return { device: device.trim(), receive: fields[0] ?? 0, transmit: fields[8] ?? 0 };
    })
    .filter((entry) => entry.device !== 'lo');
}

/** Bytes read and written per whole disk (partitions and virtual devices skipped), from /proc/diskstats. */
export function parseDiskStats(text: string): { device: string; read: number; written: number }[] {
  return text
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f.length >= 14)
    .filter((f) => /^(sd[a-z]+|vd[a-z]+|xvd[a-z]+|hd[a-z]+|nvme\d+n\d+|mmcblk\d+)$/.test(f[2] ?? ''))
    .map((f) => ({ device: f[2]!, read: Number(f[5]) * 512, written: Number(f[9]) * 512 }));
}

const readOptional = (path: string): Promise<string | null> => readFile(path, 'utf8').catch(() => null);

/** Registers the kiln_host_* series on `registry`; `paths` are the filesystems reported (default /). */
export function registerHostMetrics(registry: Registry, options: { paths?: string[]; prefix?: string } = {}): void {
  const prefix = options.prefix ?? 'kiln_host_';
  const paths = options.paths ?? ['/'];
  const registers = [registry];
  // Counters set from absolute readings: prom-client counters only inc(), so keep the last value.
  const counterFrom = (name: string, help: string, labelNames: string[], read: () => Promise<{ labels: Record<string, string>; value: number }[] | null>): void => {
    const last = new Map<string, number>();
    new Counter({
      name: `${prefix}${name}`,
      help,
      labelNames,
      registers,
      async collect() {
        const readings = await read();
        if (!readings) return;
        for (const { labels, value } of readings) {
          const key = JSON.stringify(labels);
          const delta = value - (last.get(key) ?? 0);
          if (delta > 0) this.inc(labels, delta);
          last.set(key, value);
        }
      },
    });
  };
  counterFrom('cpu_seconds_total', 'CPU time of the host by mode, summed over CPUs (seconds)', ['mode'], async () => {
    const text = await readOptional('/proc/stat');
    const modes = text ? parseProcStat(text) : null;
    return modes ? Object.entries(modes).map(([mode, value]) => ({ labels: { mode }, value })) : null;
  });
  counterFrom('network_receive_bytes_total', 'Bytes received by the host per network interface', ['device'], async () => {
    const text = await readOptional('/proc/net/dev');
    return text ? parseNetDev(text).map((d) => ({ labels: { device: d.device }, value: d.receive })) : null;
  });
  counterFrom('network_transmit_bytes_total', 'Bytes sent by the host per network interface', ['device'], async () => {
    const text = await readOptional('/proc/net/dev');
    return text ? parseNetDev(text).map((d) => ({ labels: { device: d.device }, value: d.transmit })) : null;
  });
  counterFrom('disk_read_bytes_total', 'Bytes read from each disk of the host', ['device'], async () => {
    const text = await readOptional('/proc/diskstats');
    return text ? parseDiskStats(text).map((d) => ({ labels: { device: d.device }, value: d.read })) : null;
  });
  counterFrom('disk_written_bytes_total', 'Bytes written to each disk of the host', ['device'], async () => {
    const text = await readOptional('/proc/diskstats');
    return text ? parseDiskStats(text).map((d) => ({ labels: { device: d.device }, value: d.written })) : null;
  });
  new Gauge({
    name: `${prefix}memory_total_bytes`,
    help: 'Memory installed in the host (bytes)',
    registers,
    collect() {
      this.set(totalmem());
    },
  });
  new Gauge({
    name: `${prefix}memory_available_bytes`,
    help: 'Memory available for new work without swapping (MemAvailable; bytes)',
    registers,
    async collect() {
      const text = await readOptional('/proc/meminfo');
      const match = text?.match(/^MemAvailable:\s+(\d+) kB/m);
      this.set(match ? Number(match[1]) * 1024 : freemem());
    },
  });
  new Gauge({ name: `${prefix}cpus`, help: 'Logical CPUs of the host', registers, collect() {
    this.set(availableParallelism());
  } });
  const filesystem = (name: string, help: string, pick: (s: { bsize: number; blocks: number; bavail: number }) => number): void => {
    new Gauge({
      name: `${prefix}${name}`,
      help,
      labelNames: ['path'],
      registers,
      async collect() {
        for (const path of paths) {
          const stats = await statfs(path).catch(() => null);
          if (stats) this.set({ path }, pick(stats));
        }
      },
    });
  };
  filesystem('filesystem_size_bytes', 'Size of the filesystem holding each reported path (bytes)', (s) => s.blocks * s.bsize);
  filesystem('filesystem_avail_bytes', 'Space available to unprivileged users on that filesystem (bytes)', (s) => s.bavail * s.bsize);
}
