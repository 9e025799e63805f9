/**
 * deploy/kubernetes as specified: both overlays render (kustomize's `resources` and `namespace`,
 * cross-checked against `kubectl kustomize` where kubectl is installed), every object type-checks
 * against the Kubernetes 1.30 API (the pinned kubernetes-types package, compiled by TypeScript:
 * unknown fields, wrong types and missing required fields are errors), and the objects fit
 * together: probes on /ready and /health, Secrets only by reference (never in the manifests),
 * the HPA on the API Deployment, the tuning Job Indexed, images, ports and flags consistent with
 * the Dockerfile and the kiln CLI, the tracking server's allowed hosts, hardened pods, and a
 * Prometheus configuration that finds every scraped pod.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import type { Command } from 'commander';
import ts from 'typescript';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { buildProgram } from '../cli/main.js';
import { isAllowedHost } from '../tracking/server/security-policy.js';
import { DEPLOY, REPO, which } from './test-stack.js';

const K8S = join(DEPLOY, 'kubernetes');
const OVERLAYS = ['local-postgres', 'external-postgres'] as const;
const KUBECTL = which('kubectl');

// ---- the few shapes the checks read (the full types come from kubernetes-types) ----
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    fieldRef?: { fieldPath: string };
  };
}
interface Probe {
  httpGet?: { path: string; port: number | string };
  exec?: { command: string[] };
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  envFrom?: unknown[];
  ports?: { name?: string; containerPort: number }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean; capabilities?: { drop?: string[] } };
}
interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    containers: Container[];
    restartPolicy?: string;
    automountServiceAccountToken?: boolean;
    securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; seccompProfile?: { type: string } };
  };
}
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown> & { template?: PodTemplate; selector?: Record<string, unknown> };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}
interface Kustomization {
  apiVersion: string;
  kind: string;
  namespace?: string;
  resources: string[];
  images?: { name: string; newName?: string; newTag?: string; digest?: string }[];
}

const CLUSTER_SCOPED = new Set(['Namespace']);
// What kustomization.yaml may say: the render below implements exactly these fields, so any other
// (patches, images, generators, ...) fails the test instead of being silently ignored.
const KUSTOMIZATION_FIELDS = new Set(['apiVersion', 'kind', 'namespace', 'resources', 'images']);

function yamlDocuments(path: string): K8sObject[] {
  return parseAllDocuments(readFileSync(path, 'utf8'))
    .map((document) => {
      assert.deepEqual(document.errors, [], `${path}: ${document.errors.join('; ')}`);
      return document.toJS() as K8sObject | null;
    })
    .filter((object): object is K8sObject => object !== null);
}

/** kustomize's images transformer: `kustomize edit set image kiln=registry/kiln:1.0` on an overlay. */
function setImages(objects: K8sObject[], images: NonNullable<Kustomization['images']>): void {
  for (const container of containersOf(objects).map(({ container }) => container)) {
    const name = container.image.replace(/@.*$/, '').replace(/:[^:/]*$/, '');
    const image = images.find((candidate) => candidate.name === name);
    if (!image) continue;
    const tag = image.digest ? `@${image.digest}` : image.newTag ? `:${image.newTag}` : container.image.slice(name.length);
    container.image = `${image.newName ?? name}${tag}`;
  }
}

/** `kustomize build <dir>` for kustomizations that use only `resources`, `namespace` and `images`. */
function render(dir: string): K8sObject[] {
  const kustomization = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as Kustomization;
  for (const field of Object.keys(kustomization)) assert.ok(KUSTOMIZATION_FIELDS.has(field), `${relative(REPO, dir)}/kustomization.yaml: field ${field} is not supported by this render`);
  assert.equal(kustomization.kind, 'Kustomization');
  const objects = kustomization.resources.flatMap((resource) => {
    const path = join(dir, resource);
    return statSync(path).isDirectory() ? render(path) : yamlDocuments(path);
  });
  if (kustomization.images) setImages(objects, kustomization.images);
  if (kustomization.namespace === undefined) return objects;
  for (const object of objects) {
    if (CLUSTER_SCOPED.has(object.kind)) continue;
    object.metadata.namespace = kustomization.namespace;
  }
  return objects;
}

const keyOf = (object: K8sObject): string => `${object.kind}/${object.metadata.namespace ?? ''}/${object.metadata.name}`;
const byKey = (objects: K8sObject[]): Map<string, K8sObject> => new Map(objects.map((object) => [keyOf(object), object]));
const find = (objects: K8sObject[], kind: string, name: string): K8sObject => {
  const object = objects.find((o) => o.kind === kind && o.metadata.name === name);
  assert.ok(object, `no ${kind} ${name}`);
  return object;
};
const workloads = (objects: K8sObject[]): K8sObject[] => objects.filter((object) => object.spec?.template !== undefined);
const containersOf = (objects: K8sObject[]): { owner: string; container: Container; pod: PodTemplate }[] =>
  workloads(objects).flatMap((object) => object.spec!.template!.spec.containers.map((container) => ({ owner: keyOf(object), container, pod: object.spec!.template! })));

// ---- type-checking objects against the Kubernetes API types ----

/** apiVersion → the kubernetes-types module of that group and version. */
const TYPE_MODULES: Record<string, string> = {
  v1: 'kubernetes-types/core/v1',
  'apps/v1': 'kubernetes-types/apps/v1',
  'batch/v1': 'kubernetes-types/batch/v1',
  'autoscaling/v2': 'kubernetes-types/autoscaling/v2',
  'policy/v1': 'kubernetes-types/policy/v1',
  'networking.k8s.io/v1': 'kubernetes-types/networking/v1',
};

/**
 * Compiles `const x: <Kind> = <object>` for each object (an object literal, so TypeScript's
 * excess-property check rejects unknown fields at any depth) and returns the errors by object.
 */
function typeCheck(objects: { label: string; object: K8sObject }[]): Map<string, string[]> {
  const lines: string[] = [];
  const imports = new Map<string, Set<string>>();
  objects.forEach(({ object }, index) => {
    const module = TYPE_MODULES[object.apiVersion];
    assert.ok(module, `${object.kind} ${object.metadata.name}: no Kubernetes types for apiVersion ${object.apiVersion}`);
    const kinds = imports.get(module) ?? new Set<string>();
    kinds.add(object.kind);
    imports.set(module, kinds);
    lines.push(`export const object${index}: ${object.kind.replace(/[^A-Za-z]/g, '')}_${module.replace(/\W/g, '_')} = ${JSON.stringify(object)};`);
  });
  const header = [...imports].map(([module, kinds]) => `import type { ${[...kinds].map((kind) => `${kind} as ${kind}_${module.replace(/\W/g, '_')}`).join(', ')} } from '${module}';`);
  const fileName = join(REPO, 'kubernetes-manifests.check.ts');
  const source = [...header, ...lines].join('\n');
  const options: ts.CompilerOptions = { strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler, types: [], lib: ['lib.es2022.d.ts'] };
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.readFile = (name) => (name === fileName ? source : readFile(name));
  host.fileExists = (name) => name === fileName || ts.sys.fileExists(name);
  host.getSourceFile = (name, language) => (name === fileName ? ts.createSourceFile(name, source, language, true) : getSourceFile(name, language));
  const program = ts.createProgram([fileName], options, host);
  const errors = new Map<string, string[]>(objects.map(({ label }) => [label, []]));
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    assert.ok(diagnostic.file?.fileName === fileName && diagnostic.start !== undefined, `type check setup: ${message}`);
    const line = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start).line - header.length;
    assert.ok(line >= 0, `type check imports: ${message}`);
    errors.get(objects[line]!.label)!.push(message);
  }
  return errors;
}

const PROGRAM = await buildProgram();

/** The long flags of `kiln <name>`. */
function flagsOf(name: string): Set<string> {
  const command = PROGRAM.commands.find((c: Command) => c.name() === name);
  assert.ok(command, `kiln has no command ${name}`);
  return new Set(command.options.map((option) => option.long ?? ''));
}

/** Every `$(VAR)` a string refers to (Kubernetes expands them from the container's env). */
const references = (text: string): string[] => [...text.matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)].map((match) => match[1]!);

/** Kubernetes' expansion of `$(VAR)` in an env value, args or command. */
const expand = (text: string, env: Record<string, string>): string => text.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => env[name] ?? whole);

const rendered = Object.fromEntries(OVERLAYS.map((overlay) => [overlay, render(join(K8S, 'overlays', overlay))])) as Record<(typeof OVERLAYS)[number], K8sObject[]>;
const secretExamples = Object.fromEntries(OVERLAYS.map((overlay) => [overlay, yamlDocuments(join(K8S, 'overlays', overlay, 'secret.example.yaml'))])) as Record<(typeof OVERLAYS)[number], K8sObject[]>;

describe('Kubernetes manifests: rendering', () => {
  test('both overlays render the base plus their own objects, all in namespace kiln, with no duplicates', () => {
    const kinds = (objects: K8sObject[]): string[] => objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    assert.deepEqual(kinds(rendered['external-postgres']), [
      'ConfigMap/kiln-config',
      'Deployment/api',
      'Deployment/tracking',
      'HorizontalPodAutoscaler/api',
      'Job/tune',
      'Namespace/kiln',
      'PodDisruptionBudget/api',
      'Service/api',
      'Service/tracking',
    ]);
    assert.deepEqual(kinds(rendered['local-postgres']), [...kinds(rendered['external-postgres']), 'NetworkPolicy/postgres', 'Service/postgres', 'StatefulSet/postgres'].sort());
    for (const objects of Object.values(rendered)) {
      assert.equal(byKey(objects).size, objects.length, 'duplicate objects');
      for (const object of objects) if (object.kind !== 'Namespace') assert.equal(object.metadata.namespace, 'kiln', keyOf(object));
    }
  });

  test('the render matches `kubectl kustomize` object for object', { skip: KUBECTL ? false : 'kubectl not installed: the built-in render alone is used' }, () => {
    for (const overlay of OVERLAYS) {
      const result = spawnSync(KUBECTL!, ['kustomize', join(K8S, 'overlays', overlay)], { encoding: 'utf8' });
      assert.equal(result.status, 0, result.stderr);
      const theirs = byKey(parseAllDocuments(result.stdout).map((document) => document.toJS() as K8sObject));
      const ours = byKey(rendered[overlay]);
      assert.deepEqual([...theirs.keys()].sort(), [...ours.keys()].sort(), overlay);
      for (const [key, object] of ours) assert.deepEqual(theirs.get(key), object, `${overlay}: ${key}`);
    }
  });

  test('an overlay of your own can set the image (kustomize edit set image kiln=…), as kustomize does', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-kustomize-'));
    try {
      const kustomization = { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: [relative(dir, join(K8S, 'overlays', 'local-postgres'))], images: [{ name: 'kiln', newName: 'registry.example.com/kiln', newTag: '0.1.0' }] };
      writeFileSync(join(dir, 'kustomization.yaml'), stringify(kustomization));
      const images = containersOf(render(dir)).map(({ container }) => `${container.name}=${container.image}`).sort();
      assert.deepEqual(images, ['api=registry.example.com/kiln:0.1.0', 'postgres=postgres:16.4-bookworm', 'tracking=registry.example.com/kiln:0.1.0', 'tune=registry.example.com/kiln:0.1.0']);
      if (KUBECTL) {
        const result = spawnSync(KUBECTL, ['kustomize', dir], { encoding: 'utf8' });
        assert.equal(result.status, 0, result.stderr);
        const theirs = containersOf(parseAllDocuments(result.stdout).map((document) => document.toJS() as K8sObject)).map(({ container }) => `${container.name}=${container.image}`).sort();
        assert.deepEqual(theirs, images);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the base alone is no deployment: its tracking server needs the database Secret an overlay documents', () => {
    const base = render(join(K8S, 'base'));
    assert.ok(base.every((object) => object.kind !== 'StatefulSet'));
    const tracking = find(base, 'Deployment', 'tracking').spec!.template!.spec.containers[0]!;
    assert.equal(tracking.env?.find((e) => e.name === 'KILN_BACKEND_STORE_URI')?.valueFrom?.secretKeyRef?.name, 'kiln-tracking-store');
  });
});

describe('Kubernetes manifests: every object is valid against the Kubernetes 1.30 API (kubernetes-types)', () => {
  test('the pinned API version is 1.30', () => {
    const pkg = JSON.parse(readFileSync(join(REPO, 'node_modules', 'kubernetes-types', 'package.json'), 'utf8')) as { version: string };
    assert.match(pkg.version, /^1\.30\./);
    const declared = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies['kubernetes-types'];
    assert.equal(declared, '1.30.0', 'kubernetes-types must be pinned to an exact version');
  });

  test('every rendered object and every example Secret type-checks; typos, wrong types and missing fields do not', () => {
    const good = [
      ...OVERLAYS.flatMap((overlay) => rendered[overlay].map((object) => ({ label: `${overlay}: ${keyOf(object)}`, object }))),
      ...OVERLAYS.flatMap((overlay) => secretExamples[overlay].map((object) => ({ label: `${overlay} secret.example.yaml: ${keyOf(object)}`, object }))),
    ];
    // The same check must reject what the API server rejects.
    const api = find(rendered['external-postgres'], 'Deployment', 'api');
    const broken = (label: string, change: (copy: K8sObject) => void): { label: string; object: K8sObject } => {
      const copy = structuredClone(api);
      change(copy);
      return { label: `broken: ${label}`, object: copy };
    };
    const bad = [
      broken('misspelt readinessProbe', (copy) => {
        const container = copy.spec!.template!.spec.containers[0]! as Container & { readinesProbe?: Probe };
        container.readinesProbe = container.readinessProbe;
        delete container.readinessProbe;
      }),
      broken('replicas as a string', (copy) => (copy.spec!.replicas = 'two')),
      broken('container without a name', (copy) => delete (copy.spec!.template!.spec.containers[0]! as Partial<Container>).name),
      broken('env value as a number', (copy) => (copy.spec!.template!.spec.containers[0]!.env = [{ name: 'X', value: 5 as unknown as string }])),
    ];
    const errors = typeCheck([...good, ...bad]);
    for (const { label } of good) assert.deepEqual(errors.get(label), [], label);
    for (const { label } of bad) assert.ok(errors.get(label)!.length > 0, `${label} was accepted`);
  });
});

describe('Kubernetes manifests: Secrets are referenced, never written down', () => {
  for (const overlay of OVERLAYS) {
    test(`${overlay}: no Secret is rendered, and secret.example.yaml is not a resource`, () => {
      assert.deepEqual(rendered[overlay].filter((object) => object.kind === 'Secret'), []);
      const kustomization = parse(readFileSync(join(K8S, 'overlays', overlay, 'kustomization.yaml'), 'utf8')) as Kustomization;
      assert.ok(!kustomization.resources.some((resource) => resource.includes('secret')), 'a secret file is listed in the kustomization');
      // Nothing under base/ holds a Secret either.
      for (const file of readdirSync(join(K8S, 'base'))) assert.ok(yamlDocuments(join(K8S, 'base', file)).every((object) => object.kind !== 'Secret'), file);
    });

    test(`${overlay}: credentials come from secretKeyRef only, each to a Secret and key that secret.example.yaml documents`, () => {
      const examples = new Map(secretExamples[overlay].map((secret) => [secret.metadata.name, secret]));
      for (const secret of examples.values()) {
        assert.equal(secret.kind, 'Secret');
        assert.equal(secret.metadata.namespace, 'kiln', secret.metadata.name);
        for (const [key, value] of Object.entries(secret.stringData ?? {})) assert.match(value, /CHANGE-ME/, `${secret.metadata.name}.${key} holds something other than a placeholder`);
      }
      const sensitive = /PASSWORD|TOKEN|SECRET|ACCESS_KEY|API_KEYS|STORE_URI/;
      let references = 0;
      for (const { owner, container } of containersOf(rendered[overlay])) {
        assert.equal(container.envFrom, undefined, `${owner}: envFrom hides which keys a container reads`);
        for (const variable of container.env ?? []) {
          if (sensitive.test(variable.name)) assert.ok(variable.valueFrom?.secretKeyRef, `${owner}: ${variable.name} must come from a Secret`);
          const ref = variable.valueFrom?.secretKeyRef;
          if (!ref) continue;
          references++;
          const example = examples.get(ref.name);
          assert.ok(example, `${owner}: ${variable.name} reads Secret ${ref.name}, which secret.example.yaml does not show`);
          assert.ok(ref.key in (example.stringData ?? {}), `${owner}: ${variable.name} reads key ${ref.key} of ${ref.name}, which secret.example.yaml does not show`);
        }
      }
      assert.ok(references >= 5);
      // The database must be there: only optional extras may be missing.
      const tracking = find(rendered[overlay], 'Deployment', 'tracking').spec!.template!.spec.containers[0]!;
      assert.notEqual(tracking.env?.find((e) => e.name === 'KILN_BACKEND_STORE_URI')?.valueFrom?.secretKeyRef?.optional, true);
    });

    test(`${overlay}: no URL with credentials and no password-like literal anywhere in the rendered manifests`, () => {
      const text = JSON.stringify(rendered[overlay]);
      assert.doesNotMatch(text, /[a-z][a-z0-9+.-]*:\/\/[^/\s"@:]+:[^/\s"@]+@/i, 'a URL with user:password@');
      assert.doesNotMatch(text, /CHANGE-ME/);
      assert.doesNotMatch(text, /AKIA[0-9A-Z]{16}/, 'an AWS access key id');
    });
  }
});

describe('Kubernetes manifests: the services', () => {
  const objects = rendered['local-postgres'];
  const compose = parse(readFileSync(join(DEPLOY, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, { image?: string }> };
  const dockerfile = readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8');
  const exposed = new Set((/^EXPOSE (.+)$/m.exec(dockerfile)?.[1] ?? '').split(/\s+/).map(Number));
  const kilnContainers = containersOf(objects).filter(({ container }) => container.image === compose.services.tracking!.image);
  const config = find(objects, 'ConfigMap', 'kiln-config').data!;

  /** A container's env with values Kubernetes would resolve (fields, ConfigMap), secrets as placeholders. */
  const resolvedEnv = (container: Container, fields: Record<string, string>): Record<string, string> => {
    const env: Record<string, string> = {};
    for (const variable of container.env ?? []) {
      const from = variable.valueFrom;
      env[variable.name] =
        variable.value !== undefined
          ? expand(variable.value, env)
          : from?.fieldRef
            ? fields[from.fieldRef.fieldPath]!
            : from?.configMapKeyRef
              ? config[from.configMapKeyRef.key]!
              : `<secret ${from!.secretKeyRef!.name}/${from!.secretKeyRef!.key}>`;
    }
    return env;
  };

  test('the Kiln services use the Compose image, its entrypoint, real kiln commands and flags, and the Dockerfile ports', () => {
    assert.equal(compose.services.tracking!.image, 'kiln:latest');
    assert.deepEqual(kilnContainers.map(({ owner }) => owner).sort(), ['Deployment/kiln/api', 'Deployment/kiln/tracking', 'Job/kiln/tune']);
    const expected: Record<string, { command: string; port: number }> = { tracking: { command: 'server', port: 5000 }, api: { command: 'serve', port: 8000 }, tune: { command: 'tune', port: 8001 } };
    for (const { container } of kilnContainers) {
      const { command, port } = expected[container.name]!;
      assert.equal(container.command, undefined, `${container.name}: the image's ENTRYPOINT (node bin/kiln.js) must run`);
      const [subcommand, ...args] = container.args ?? [];
      assert.equal(subcommand, command, container.name);
      const known = flagsOf(command);
      for (const arg of args) if (arg.startsWith('--')) assert.ok(known.has(arg), `kiln ${command} has no flag ${arg}`);
      assert.deepEqual(container.ports?.map((p) => p.containerPort), [port], container.name);
      assert.ok(exposed.has(port), `${container.name}: port ${port} is not EXPOSEd by deploy/Dockerfile`);
      const portFlag = command === 'tune' ? '--metrics-port' : '--port';
      const hostFlag = command === 'tune' ? '--metrics-host' : '--host';
      assert.equal(args[args.indexOf(portFlag) + 1], String(port), `${container.name} ${portFlag}`);
      assert.equal(args[args.indexOf(hostFlag) + 1], '0.0.0.0', `${container.name} must listen on the pod's address`);
      assert.equal(args[args.indexOf('--log-dir') + 1], '/logs');
    }
  });

  test('every $(VAR) in args and env refers to a variable defined before it in the same container', () => {
    // Kubernetes leaves an unknown $(VAR) as it is: the server would get the literal text.
    for (const { owner, container } of containersOf(objects)) {
      const defined = new Set<string>();
      for (const variable of container.env ?? []) {
        for (const name of references(variable.value ?? '')) assert.ok(defined.has(name), `${owner}: env ${variable.name} refers to $(${name}) before it is defined`);
        defined.add(variable.name);
      }
      for (const arg of [...(container.command ?? []), ...(container.args ?? [])]) for (const name of references(arg)) assert.ok(defined.has(name), `${owner}: ${arg} refers to an undefined variable`);
      for (const variable of container.env ?? []) {
        const ref = variable.valueFrom?.configMapKeyRef;
        if (ref && !ref.optional) assert.ok(ref.name === 'kiln-config' && ref.key in config, `${owner}: ${variable.name} reads a missing ConfigMap key ${ref.key}`);
      }
    }
  });

  test('the prediction API: ready on /ready, alive on /health, on its container port, with CPU and memory requests and limits', () => {
    const api = find(objects, 'Deployment', 'api').spec!.template!.spec.containers[0]!;
    assert.equal(api.readinessProbe?.httpGet?.path, '/ready');
    assert.equal(api.livenessProbe?.httpGet?.path, '/health');
    for (const probe of [api.readinessProbe!, api.livenessProbe!]) {
      const port = probe.httpGet!.port;
      assert.equal(typeof port === 'number' ? port : api.ports?.find((p) => p.name === port)?.containerPort, 8000);
    }
    const args = api.args!;
    assert.equal(expand(args[args.indexOf('--model-uri') + 1]!, resolvedEnv(api, {})), 'models:/fashion-mnist@champion');
    assert.equal(args[args.indexOf('--tracking-uri') + 1], 'http://tracking:5000');
  });

  test('every container has CPU and memory requests and a memory limit', () => {
    for (const { owner, container } of containersOf(objects)) {
      assert.ok(container.resources?.requests?.cpu && container.resources.requests.memory, `${owner}: requests`);
      assert.ok(container.resources.limits?.memory, `${owner}: memory limit`);
    }
  });

  test('the HorizontalPodAutoscaler (autoscaling/v2) scales the API Deployment on CPU, which owns no fixed replica count', () => {
    const hpa = find(objects, 'HorizontalPodAutoscaler', 'api');
    assert.equal(hpa.apiVersion, 'autoscaling/v2');
    const spec = hpa.spec as { scaleTargetRef: { apiVersion: string; kind: string; name: string }; minReplicas: number; maxReplicas: number; metrics: { type: string; resource?: { name: string } }[] };
    assert.deepEqual(spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' });
    const target = find(objects, spec.scaleTargetRef.kind, spec.scaleTargetRef.name);
    assert.equal(target.spec!.replicas, undefined, 'a replicas field would reset the autoscaler on every apply');
    assert.ok(spec.minReplicas >= 2 && spec.maxReplicas > spec.minReplicas);
    assert.ok(spec.metrics.some((metric) => metric.type === 'Resource' && metric.resource?.name === 'cpu'));
    const pdb = find(objects, 'PodDisruptionBudget', 'api');
    assert.deepEqual(pdb.spec!.selector, target.spec!.selector);
  });

  test('the tuning workers are an Indexed Job of kiln tune processes on one study against the tracking Service', () => {
    const job = find(objects, 'Job', 'tune');
    const spec = job.spec as { completionMode: string; completions: number; parallelism: number; backoffLimitPerIndex?: number; template: PodTemplate };
    assert.equal(spec.completionMode, 'Indexed');
    assert.ok(spec.completions >= 2 && spec.parallelism === spec.completions, 'all workers run at once');
    assert.equal(spec.template.spec.restartPolicy, 'Never'); // backoffLimitPerIndex requires it
    const args = spec.template.spec.containers[0]!.args!;
    assert.equal(args[args.indexOf('--tracking-uri') + 1], 'http://tracking:5000');
    assert.ok(args.includes('--study-name'), 'the workers must share one named study');
    assert.equal(args[args.indexOf('--workers') + 1], '1', 'parallelism comes from the Job, not from child processes');
    assert.ok(!args.includes('--storage'), 'the study is stored through the tracking server');
  });

  test('Services select their pods and target named container ports; http://tracking:5000 and http://api:8000 exist', () => {
    const pods = workloads(objects).map((object) => object.spec!.template!);
    for (const service of objects.filter((object) => object.kind === 'Service')) {
      const spec = service.spec as { selector: Record<string, string>; ports: { port: number; targetPort: string | number }[] };
      const selected = pods.filter((pod) => Object.entries(spec.selector).every(([key, value]) => pod.metadata?.labels?.[key] === value));
      assert.equal(selected.length, 1, `Service ${service.metadata.name} selects ${selected.length} pod templates`);
      for (const port of spec.ports) {
        const containerPort = selected[0]!.spec.containers.flatMap((c) => c.ports ?? []).find((p) => p.name === port.targetPort || p.containerPort === port.targetPort);
        assert.equal(containerPort?.containerPort, port.port, `Service ${service.metadata.name} port ${port.port}`);
      }
    }
    assert.equal((find(objects, 'Service', 'tracking').spec as { ports: { port: number }[] }).ports[0]!.port, 5000);
    assert.equal((find(objects, 'Service', 'api').spec as { ports: { port: number }[] }).ports[0]!.port, 8000);
    for (const workload of workloads(objects)) {
      const selector = (workload.spec!.selector as { matchLabels?: Record<string, string> } | undefined)?.matchLabels;
      if (!selector) continue; // a Job's selector is generated
      for (const [key, value] of Object.entries(selector)) assert.equal(workload.spec!.template!.metadata?.labels?.[key], value, keyOf(workload));
    }
  });

  test('the tracking server stores in PostgreSQL and S3, and answers its Service names, its pod IP and loopback, nothing else', () => {
    const tracking = find(objects, 'Deployment', 'tracking').spec!.template!.spec.containers[0]!;
    const env = resolvedEnv(tracking, { 'metadata.namespace': 'kiln', 'status.podIP': '10.42.0.7' });
    const args = tracking.args!.map((arg) => expand(arg, env));
    assert.equal(args[args.indexOf('--backend-store-uri') + 1], '<secret kiln-tracking-store/backend-store-uri>');
    assert.match(args[args.indexOf('--artifacts-destination') + 1]!, /^s3:\/\/[a-z0-9.-]+\/\S*$/);
    assert.match(env.MLFLOW_S3_ENDPOINT_URL ?? '', /^https?:\/\//);
    assert.match(secretExamples['local-postgres'].find((s) => s.metadata.name === 'kiln-tracking-store')!.stringData!['backend-store-uri']!, /^postgresql:\/\/kiln:[^@]+@postgres:5432\/kiln$/);
    const allowed = env.MLFLOW_SERVER_ALLOWED_HOSTS!.split(',');
    assert.ok(!allowed.includes('*'), 'Host checking must stay on');
    for (const host of ['tracking', 'tracking:5000', 'tracking.kiln:5000', 'tracking.kiln.svc:5000', 'tracking.kiln.svc.cluster.local:5000', '10.42.0.7:5000', 'localhost:5000', '127.0.0.1:5000']) {
      assert.ok(isAllowedHost(allowed, host), `Host ${host} would be refused`);
    }
    for (const host of ['attacker.example:5000', 'tracking.attacker.example', '10.42.0.8:5000']) assert.ok(!isAllowedHost(allowed, host), `Host ${host} would be answered`);
    assert.equal(tracking.readinessProbe?.httpGet?.path, '/health');
    assert.equal(tracking.livenessProbe?.httpGet?.path, '/health');
  });

  test('the local PostgreSQL gets its password from the Secret and lets only the tracking server in', () => {
    const postgres = find(objects, 'StatefulSet', 'postgres');
    const container = postgres.spec!.template!.spec.containers[0]!;
    assert.deepEqual(container.env?.find((e) => e.name === 'POSTGRES_PASSWORD')?.valueFrom?.secretKeyRef, { name: 'kiln-postgres', key: 'password' });
    const policy = find(objects, 'NetworkPolicy', 'postgres').spec as { podSelector: { matchLabels: Record<string, string> }; ingress: { from: { podSelector: { matchLabels: Record<string, string> } }[] }[] };
    assert.deepEqual(policy.podSelector.matchLabels, (postgres.spec!.selector as { matchLabels: Record<string, string> }).matchLabels);
    assert.deepEqual(policy.ingress.flatMap((rule) => rule.from.map((peer) => peer.podSelector.matchLabels['app.kubernetes.io/component'])), ['tracking']);
  });

  test('every pod runs as non-root with seccomp, without a service-account token; every container read-only, unprivileged, no capabilities', () => {
    for (const { owner, container, pod } of containersOf(objects)) {
      const podSecurity = pod.spec.securityContext;
      assert.equal(podSecurity?.runAsNonRoot, true, owner);
      assert.ok(typeof podSecurity.runAsUser === 'number' && podSecurity.runAsUser > 0, `${owner}: a numeric non-root user (the image's USER is a name the kubelet cannot check)`);
      assert.equal(podSecurity.seccompProfile?.type, 'RuntimeDefault', owner);
      assert.equal(pod.spec.automountServiceAccountToken, false, owner);
      assert.equal(container.securityContext?.allowPrivilegeEscalation, false, owner);
      assert.equal(container.securityContext.readOnlyRootFilesystem, true, owner);
      assert.deepEqual(container.securityContext.capabilities?.drop, ['ALL'], owner);
    }
    // The Kiln image's user has that uid (deploy/Dockerfile pins it), so files it owns stay its own.
    const uid = /useradd [^\n]*--uid (\d+)[^\n]* kiln/.exec(dockerfile)?.[1];
    assert.ok(uid, 'deploy/Dockerfile does not pin the uid of user kiln');
    for (const { owner, pod } of kilnContainers) assert.equal(pod.spec.securityContext?.runAsUser, Number(uid), owner);
    const namespace = find(objects, 'Namespace', 'kiln');
    assert.equal(namespace.metadata.labels?.['pod-security.kubernetes.io/enforce'], 'restricted');
  });
});

describe('Kubernetes manifests: Prometheus', () => {
  interface RelabelRule {
    source_labels?: string[];
    regex?: string;
    action?: string;
    separator?: string;
  }
  interface ScrapeJob {
    job_name: string;
    kubernetes_sd_configs: { role: string; namespaces?: { names: string[] } }[];
    relabel_configs: RelabelRule[];
  }
  const config = parse(readFileSync(join(K8S, 'prometheus.yml'), 'utf8')) as { scrape_configs: ScrapeJob[] };
  const objects = rendered['local-postgres'];

  /** The labels Prometheus' pod discovery gives a pod (the part these rules read). */
  const metaLabels = (pod: PodTemplate, phase: string): Record<string, string> => {
    const labels: Record<string, string> = { __meta_kubernetes_namespace: 'kiln', __meta_kubernetes_pod_phase: phase, __meta_kubernetes_pod_ip: '10.42.0.9' };
    const sanitize = (name: string): string => name.replace(/[^a-zA-Z0-9_]/g, '_');
    for (const [key, value] of Object.entries(pod.metadata?.labels ?? {})) labels[`__meta_kubernetes_pod_label_${sanitize(key)}`] = value;
    for (const [key, value] of Object.entries(pod.metadata?.annotations ?? {})) labels[`__meta_kubernetes_pod_annotation_${sanitize(key)}`] = value;
    return labels;
  };
  /** Whether a job's keep/drop rules keep the target (Prometheus anchors every regex). */
  const kept = (job: ScrapeJob, labels: Record<string, string>): boolean =>
    job.relabel_configs.every((rule) => {
      if (rule.action !== 'keep' && rule.action !== 'drop') return true;
      const value = (rule.source_labels ?? []).map((name) => labels[name] ?? '').join(rule.separator ?? ';');
      const matches = new RegExp(`^(?:${rule.regex ?? '(.*)'})$`).test(value);
      return rule.action === 'keep' ? matches : !matches;
    });

  test('kiln-api, kiln-tracking and kiln-trainer discover pods in namespace kiln, with the job names the alerts and dashboards use', () => {
    const compose = parse(readFileSync(join(DEPLOY, 'prometheus', 'prometheus.yml'), 'utf8')) as { scrape_configs: { job_name: string }[] };
    const names = config.scrape_configs.map((job) => job.job_name);
    assert.deepEqual(names, ['kiln-api', 'kiln-tracking', 'kiln-trainer']);
    for (const name of names) assert.ok(compose.scrape_configs.some((job) => job.job_name === name), `${name} is no job of deploy/prometheus/prometheus.yml`);
    for (const job of config.scrape_configs) assert.deepEqual(job.kubernetes_sd_configs, [{ role: 'pod', namespaces: { names: ['kiln'] } }], job.job_name);
  });

  test('each scraped pod template is kept by exactly its job, on its metrics port, while running; PostgreSQL by none', () => {
    const expected: Record<string, string> = { 'Deployment/kiln/api': 'kiln-api', 'Deployment/kiln/tracking': 'kiln-tracking', 'Job/kiln/tune': 'kiln-trainer' };
    for (const workload of workloads(objects)) {
      const pod = workload.spec!.template!;
      const jobs = config.scrape_configs.filter((job) => kept(job, metaLabels(pod, 'Running'))).map((job) => job.job_name);
      assert.deepEqual(jobs, expected[keyOf(workload)] ? [expected[keyOf(workload)]] : [], keyOf(workload));
      if (jobs.length === 0) continue;
      const annotations = pod.metadata!.annotations!;
      assert.equal(annotations['prometheus.io/path'], '/metrics');
      assert.ok(pod.spec.containers.some((c) => c.ports?.some((p) => String(p.containerPort) === annotations['prometheus.io/port'])), `${keyOf(workload)}: prometheus.io/port is no container port`);
      assert.deepEqual(config.scrape_configs.filter((job) => kept(job, metaLabels(pod, 'Succeeded'))), [], 'finished pods are dropped');
    }
  });
});

// The overlays' directory names are what the docs tell people to apply.
test('docs/kubernetes.md names each overlay and draws the topology', () => {
  const notes = readFileSync(join(REPO, 'docs', 'kubernetes.md'), 'utf8');
  for (const overlay of OVERLAYS) assert.ok(notes.includes(`kubectl apply -k deploy/kubernetes/overlays/${overlay}`), overlay);
  assert.match(notes, /```mermaid\n/);
});
