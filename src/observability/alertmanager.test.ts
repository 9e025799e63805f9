/**
 * Alerts reach someone: a real Prometheus (Debian's) evaluates deploy/prometheus/alerts.yml over a
 * real Kiln API, and a real Alertmanager (Debian's) with deploy/alertmanager/alertmanager.yml
 * delivers what fires to a webhook this test listens on (loopback). Only the targets, the webhook
 * URL and the timings differ from the stack's files (`for:` and group waits shortened).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { initEngine } from '../engine/index.js';
import { TEST_MLP, writeTestModelFolder } from '../models/onnx/test-helpers.js';
import { buildServeApp, loadServedModel, type ServeApp } from '../serve/index.js';
import { type Child, DEPLOY, freePort, startChild, waitFor, which } from './test-stack.js';

const PROMETHEUS = which('prometheus');
const ALERTMANAGER = which('prometheus-alertmanager') ?? which('alertmanager');
const SKIP = PROMETHEUS && ALERTMANAGER ? false : 'Debian packages prometheus and prometheus-alertmanager not installed (bash scripts/setup-system.sh)';

/** Alertmanager's webhook body (version 4). */
interface WebhookPayload {
  version: string;
  status: 'firing' | 'resolved';
  receiver: string;
  groupKey: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: { status: string; labels: Record<string, string>; annotations: Record<string, string>; startsAt: string; generatorURL: string; fingerprint: string }[];
}

interface Route {
  receiver?: string;
  group_wait?: string;
  group_interval?: string;
  repeat_interval?: string;
  routes?: Route[];
}
interface AlertmanagerConfig {
  route: Route;
  receivers: { name: string; webhook_configs?: { url: string }[] }[];
}
interface RuleFile {
  groups: { name: string; rules: { alert?: string; record?: string; expr: string; for?: string; labels?: Record<string, string> }[] }[];
}

/** The stack's Alertmanager configuration, delivering every receiver to `webhook`/<receiver> with second-scale timings. */
function testAlertmanagerConfig(webhook: string): AlertmanagerConfig {
  const config = parse(readFileSync(join(DEPLOY, 'alertmanager', 'alertmanager.yml'), 'utf8')) as AlertmanagerConfig;
  const fast = (route: Route): void => {
    if (route.group_wait) route.group_wait = '1s';
    if (route.group_interval) route.group_interval = '1s';
    if (route.repeat_interval) route.repeat_interval = '1h';
    route.routes?.forEach(fast);
  };
  fast(config.route);
  for (const receiver of config.receivers) {
    assert.ok(receiver.webhook_configs?.length, `receiver ${receiver.name} has no webhook (the test can only listen to webhooks)`);
    for (const hook of receiver.webhook_configs) hook.url = `${webhook}/${receiver.name}`;
  }
  return config;
}

/** The stack's alert rules with `for:` at one second, plus a warning about the API to watch the inhibition on. */
function testRules(): RuleFile {
  const rules = parse(readFileSync(join(DEPLOY, 'prometheus', 'alerts.yml'), 'utf8')) as RuleFile;
  for (const rule of rules.groups.flatMap((group) => group.rules)) if (rule.for) rule.for = '1s';
  rules.groups.push({
    name: 'inhibition-probe',
    rules: [{ alert: 'KilnTestApiWarning', expr: 'up{job="kiln-api"} == 0', labels: { severity: 'warning' } }],
  });
  return rules;
}

describe('alerts delivered: Prometheus → Alertmanager → webhook', { skip: SKIP }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-alerts-'));
  const children: Child[] = [];
  const received: { path: string; body: WebhookPayload }[] = [];
  let webhook: Server | null = null;
  let serve: ServeApp | null = null;
  let promUrl = '';
  let amUrl = '';
  let apiTarget = '';

  const promQuery = async (query: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> => {
    const response = await fetch(`${promUrl}/api/v1/query?${new URLSearchParams({ query }).toString()}`);
    return ((await response.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } }).data.result;
  };
  const delivered = (alertname: string): { path: string; body: WebhookPayload } | undefined =>
    received.find(({ body }) => body.status === 'firing' && body.alerts.some((alert) => alert.labels.alertname === alertname));

  before(async () => {
    // The webhook: records every POST (Alertmanager's JSON) and answers 200.
    webhook = createServer((request, response) => {
      let text = '';
      request.on('data', (chunk: Buffer) => (text += chunk.toString()));
      request.on('end', () => {
        received.push({ path: request.url ?? '', body: JSON.parse(text) as WebhookPayload });
        response.end('ok');
      });
    });
    await new Promise<void>((resolve) => webhook!.listen(0, '127.0.0.1', resolve));
    const webhookUrl = `http://127.0.0.1:${(webhook.address() as { port: number }).port}/kiln/alerts`;

    // The prediction API, serving a real (small) model folder: KilnApiDown only pages for an API
    // that has served a model.
    await initEngine({ quiet: true });
    const folder = join(dir, 'model');
    (await writeTestModelFolder(folder, TEST_MLP)).dispose();
    serve = buildServeApp({ defaultMetrics: false, docs: false });
    await serve.app.listen({ host: '127.0.0.1', port: 0 });
    await serve.setModel(await loadServedModel(folder, { version: '3', maxWaitMs: 0 }));
    apiTarget = `127.0.0.1:${(serve.app.server.address() as { port: number }).port}`;

    const amPort = await freePort();
    amUrl = `http://127.0.0.1:${amPort}`;
    writeFileSync(join(dir, 'alertmanager.yml'), stringify(testAlertmanagerConfig(webhookUrl)));
    children.push(
      startChild(ALERTMANAGER!, [
        `--config.file=${join(dir, 'alertmanager.yml')}`,
        `--storage.path=${join(dir, 'alertmanager')}`,
        `--web.listen-address=127.0.0.1:${amPort}`,
        '--cluster.listen-address=', // no gossip port: a single instance
        '--log.level=warn',
      ]),
    );

    // Prometheus with the stack's configuration; targets, intervals and rule timings replaced.
    const promPort = await freePort();
    const targets: Record<string, string> = {
      prometheus: `127.0.0.1:${promPort}`,
      'kiln-api': apiTarget,
      alertmanager: `127.0.0.1:${amPort}`,
    };
    const config = parse(readFileSync(join(DEPLOY, 'prometheus', 'prometheus.yml'), 'utf8')) as {
      global: Record<string, unknown>;
      rule_files: string[];
      alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] };
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    };
    config.global.scrape_interval = '1s';
    config.global.evaluation_interval = '1s';
    writeFileSync(join(dir, 'alerts.yml'), stringify(testRules()));
    config.rule_files = [join(dir, 'alerts.yml')];
    assert.equal(config.alerting.alertmanagers.length, 1, 'prometheus.yml sends alerts to one Alertmanager');
    config.alerting.alertmanagers[0]!.static_configs = [{ targets: [`127.0.0.1:${amPort}`] }];
    // The tracking server, trainer, node-exporter and DCGM exporter are absent: nothing listens there.
    for (const job of config.scrape_configs) job.static_configs = [{ targets: [targets[job.job_name] ?? `127.0.0.1:${await freePort()}`] }];
    writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
    children.push(
      startChild(PROMETHEUS!, [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'tsdb')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
        '--log.level=warn',
      ]),
    );
    promUrl = `http://127.0.0.1:${promPort}`;
    await waitFor('Alertmanager ready', async () => (await fetch(`${amUrl}/-/ready`)).ok, 30_000);
    await waitFor('Prometheus ready', async () => (await fetch(`${promUrl}/-/ready`)).ok, 30_000);
  });

  after(async () => {
    await serve?.close({ drainMs: 0 });
    for (const child of children) await child.stop();
    await new Promise<void>((resolve) => (webhook ? webhook.close(() => resolve()) : resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  test('Prometheus knows its Alertmanager, and notes that the API has served a model', async () => {
    await waitFor(
      'Prometheus to discover the Alertmanager',
      async () => {
        const answer = (await (await fetch(`${promUrl}/api/v1/alertmanagers`)).json()) as { data: { activeAlertmanagers: { url: string }[] } };
        return answer.data.activeAlertmanagers.some((am) => am.url.startsWith(amUrl));
      },
      60_000,
      250,
    );
    const latch = await waitFor('kiln:api_model_ever_served recorded', async () => (await promQuery('kiln:api_model_ever_served')).find((r) => r.metric.instance === apiTarget), 60_000, 250);
    assert.equal(latch.value[1], '1');
    // Up and serving: no KilnApiDown.
    assert.deepEqual(await promQuery('ALERTS{alertname="KilnApiDown"}'), []);
  });

  test('a down tracking server reaches the default receiver as KilnTargetDown (warning), grouped by alert and target', async () => {
    const hook = await waitFor('KilnTargetDown delivered to the webhook', async () => delivered('KilnTargetDown'), 90_000, 250);
    assert.equal(hook.path, '/kiln/alerts/kiln-webhook');
    assert.equal(hook.body.version, '4');
    assert.equal(hook.body.receiver, 'kiln-webhook');
    assert.deepEqual(Object.keys(hook.body.groupLabels).sort(), ['alertname', 'instance', 'job']);
    const alert = hook.body.alerts.find((a) => a.labels.alertname === 'KilnTargetDown')!;
    assert.equal(alert.status, 'firing');
    assert.equal(alert.labels.severity, 'warning');
    assert.equal(alert.labels.stack, 'kiln', "Prometheus's external labels travel with the alert");
    assert.ok(['kiln-tracking', 'node'].includes(alert.labels.job!), alert.labels.job);
    assert.match(alert.annotations.summary!, /^Prometheus target (kiln-tracking|node) \/ 127\.0\.0\.1:\d+ is down$/);
    assert.match(alert.generatorURL, /^http:\/\/.+\/graph\?g0\.expr=/);
    // The trainer (gone after its study) and the absent DCGM exporter are not alerts; the API has
    // its own alert (KilnApiDown), not KilnTargetDown.
    for (const { body } of received) {
      for (const a of body.alerts) {
        assert.ok(!['kiln-trainer', 'dcgm'].includes(a.labels.job!), JSON.stringify(a.labels));
        assert.ok(!(a.labels.alertname === 'KilnTargetDown' && a.labels.job === 'kiln-api'), JSON.stringify(a.labels));
      }
    }
  });

  test('the API going down after serving pages through the critical route as KilnApiDown, and its warnings are inhibited', async () => {
    await serve!.close({ drainMs: 0 });
    serve = null;
    const hook = await waitFor('KilnApiDown delivered to the webhook', async () => delivered('KilnApiDown'), 90_000, 250);
    assert.equal(hook.path, '/kiln/alerts/kiln-critical');
    assert.equal(hook.body.receiver, 'kiln-critical');
    assert.deepEqual(hook.body.groupLabels, { alertname: 'KilnApiDown', job: 'kiln-api', instance: apiTarget });
    assert.equal(hook.body.commonLabels.severity, 'critical');
    assert.equal(hook.body.commonAnnotations.summary, `Prediction API ${apiTarget} is down`);
    assert.equal(hook.body.alerts.length, 1);
    assert.equal(hook.body.alerts[0]!.status, 'firing');

    // A warning about the same target while it is critically down: Alertmanager holds it back.
    type AmAlert = { labels: Record<string, string>; status: { state: string; inhibitedBy: string[] } };
    const probe = await waitFor(
      'the warning about the down API to be inhibited',
      async () => {
        const alerts = (await (await fetch(`${amUrl}/api/v2/alerts?filter=${encodeURIComponent('alertname="KilnTestApiWarning"')}`)).json()) as AmAlert[];
        return alerts.find((a) => a.status.state === 'suppressed');
      },
      90_000,
      250,
    );
    assert.equal(probe.labels.instance, apiTarget);
    assert.equal(probe.status.inhibitedBy.length, 1);
    const [source] = (await (await fetch(`${amUrl}/api/v2/alerts?filter=${encodeURIComponent('alertname="KilnApiDown"')}`)).json()) as (AmAlert & { fingerprint: string })[];
    assert.equal(probe.status.inhibitedBy[0], source!.fingerprint);
  });
});
