import { strict as assert } from 'node:assert';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { requireTool, run } from './tools.js';

// How far this goes: `kubectl kustomize` renders the manifests offline (YAML syntax, objects with
// apiVersion, kind and name, kustomize's transformations); then the fields the daemon's pod
// depends on are checked by hand. There is no API server here, so no OpenAPI schema validation.

const k8sDir = fileURLToPath(new URL('../../deploy/k8s/', import.meta.url));

// js-yaml comes with mocha; the project has no YAML dependency of its own (yet).
type LoadAll = (text: string) => unknown[];
function yamlLoader(): LoadAll | undefined {
  try {
    return (createRequire(import.meta.url)('js-yaml') as { loadAll: LoadAll }).loadAll;
  } catch {
    return undefined;
  }
}

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are untyped YAML, checked field by field
type Obj = any;

describe('deploy/k8s', () => {
  let objects: Obj[] = [];
  const find = (kind: string) => {
    const found = objects.filter((o) => o.kind === kind);
    assert.equal(found.length, 1, `one ${kind}`);
    return found[0];
  };

  before(function () {
    requireTool(this, 'kubectl', 'kubectl');
    const loadAll = yamlLoader();
    if (!loadAll) {
      console.log(
        '      skipped: js-yaml (installed with mocha) cannot be resolved to read the rendered YAML',
      );
      this.skip();
    }
    const r = run('kubectl', ['kustomize', k8sDir]);
    assert.equal(r.status, 0, r.output);
    objects = loadAll(r.stdout) as Obj[];
  });

  it('renders a namespace, config map, secret, DaemonSet and headless service, all in one namespace', () => {
    assert.deepEqual(objects.map((o) => o.kind).sort(), [
      'ConfigMap',
      'DaemonSet',
      'Namespace',
      'Secret',
      'Service',
    ]);
    for (const o of objects) {
      assert.ok(o.apiVersion && o.metadata?.name, JSON.stringify(o.metadata));
      if (o.kind !== 'Namespace') assert.equal(o.metadata.namespace, 'greentrainer', o.kind);
    }
    assert.equal(find('Service').spec.clusterIP, 'None');
  });

  it('runs the daemon on GPU nodes with a GPU, probes, a checkpoint-sized grace period and scrape annotations', () => {
    const ds = find('DaemonSet');
    const pod = ds.spec.template;
    for (const [k, v] of Object.entries(ds.spec.selector.matchLabels))
      assert.equal(pod.metadata.labels[k], v, k);
    assert.equal(pod.metadata.annotations['prometheus.io/scrape'], 'true');
    assert.equal(pod.metadata.annotations['prometheus.io/port'], '9464');
    assert.equal(pod.spec.nodeSelector['nvidia.com/gpu.present'], 'true');
    assert.ok(pod.spec.terminationGracePeriodSeconds > 30, 'longer than the 30 s checkpoint bound');
    const [c] = pod.spec.containers;
    assert.deepEqual(c.args, ['daemon', '--config', '/etc/greentrainer/daemon.yaml']);
    assert.equal(c.resources.limits['nvidia.com/gpu'], 1);
    assert.equal(c.ports[0].containerPort, 9464);
    assert.equal(c.livenessProbe.httpGet.path, '/healthz');
    assert.equal(c.readinessProbe.httpGet.path, '/readyz');
    assert.equal(c.securityContext.allowPrivilegeEscalation, false);
    assert.equal(pod.spec.securityContext.runAsNonRoot, true);
  });

  it('mounts only volumes it defines, from the config map and secret it ships', () => {
    const pod = find('DaemonSet').spec.template.spec;
    const volumes = new Map<string, Obj>(pod.volumes.map((v: Obj) => [v.name, v]));
    for (const m of pod.containers[0].volumeMounts) assert.ok(volumes.has(m.name), m.name);
    assert.equal(volumes.get('config').configMap.name, find('ConfigMap').metadata.name);
    assert.equal(volumes.get('credentials').secret.secretName, find('Secret').metadata.name);
    const env = Object.fromEntries(pod.containers[0].env.map((e: Obj) => [e.name, e.value]));
    const credentialsMount = pod.containers[0].volumeMounts.find((m: Obj) => m.name === 'credentials');
    assert.equal(env.CREDENTIALS_DIRECTORY, credentialsMount.mountPath);
    assert.match(find('ConfigMap').data['daemon.yaml'], /^server: \{ listen: 0\.0\.0\.0:9464 \}$/m);
  });

  it('selects the daemon pods with its service, on the named metrics port', () => {
    const svc = find('Service');
    const labels = find('DaemonSet').spec.template.metadata.labels;
    for (const [k, v] of Object.entries(svc.spec.selector)) assert.equal(labels[k], v, k);
    assert.equal(svc.spec.ports[0].targetPort, 'metrics');
  });
});
