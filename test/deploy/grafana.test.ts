import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Dashboard,
  dashboardPanels,
  dashboardQueries,
  expandVariables,
  readDashboard,
} from './dashboard-queries.js';
import { GREENTRAINER_METRICS, greentrainerNamesIn, seriesNames } from './metric-names.js';
import { requireTool, run } from './tools.js';

/**
 * Grafana's current dashboard schema version: DASHBOARD_SCHEMA_VERSION in grafana/grafana
 * public/app/features/dashboard/state/DashboardMigrator.ts (42; Grafana 11.0 used 39). Older
 * Grafana loads a newer version without migrating it.
 */
const GRAFANA_SCHEMA_VERSION = 42;

const grafanaDir = fileURLToPath(new URL('../../grafana/', import.meta.url));
// Grafana's own variable syntax, not a template literal.
const DATASOURCE = { type: 'prometheus', uid: '$' + '{datasource}' };

describe('grafana/dashboards/greentrainer.json', () => {
  const dashboard: Dashboard = readDashboard();
  const panels = dashboardPanels(dashboard);

  it(`is on Grafana's current schemaVersion (${GRAFANA_SCHEMA_VERSION})`, () => {
    assert.equal(dashboard.schemaVersion, GRAFANA_SCHEMA_VERSION);
    assert.equal(dashboard.uid, 'greentrainer');
  });

  it('has datasource, instance and run variables, "All" matching series without the label too', () => {
    const vars = Object.fromEntries(dashboard.templating.list.map((v) => [v.name, v]));
    assert.deepEqual(Object.keys(vars), ['datasource', 'instance', 'run']);
    assert.equal(vars.datasource!.query, 'prometheus');
    for (const name of ['instance', 'run']) {
      assert.equal(vars[name]!.type, 'query');
      assert.equal(vars[name]!.multi, true);
      assert.equal(vars[name]!.allValue, '.*');
      assert.deepEqual(vars[name]!.datasource, DATASOURCE);
    }
  });

  it('gives every panel the datasource variable and at least one PromQL target with its own refId', () => {
    assert.ok(panels.length >= 15);
    for (const panel of panels) {
      const where = String(panel.title);
      assert.deepEqual(panel.datasource, DATASOURCE, where);
      assert.ok(panel.targets && panel.targets.length > 0, where);
      for (const t of panel.targets) {
        assert.deepEqual(t.datasource, DATASOURCE, where);
        assert.ok(typeof t.expr === 'string' && t.expr.length > 0, where);
      }
      const refIds = panel.targets.map((t) => t.refId);
      assert.equal(new Set(refIds).size, refIds.length, where);
    }
  });

  it('lays panels out on the 24-column grid without overlaps, with unique ids', () => {
    const all = dashboard.panels;
    assert.equal(new Set(all.map((p) => p.id)).size, all.length);
    const cells = new Map<string, string>();
    for (const { title = '', gridPos: g } of all) {
      assert.ok(g.x >= 0 && g.w > 0 && g.x + g.w <= 24, title);
      for (let x = g.x; x < g.x + g.w; x++) {
        for (let y = g.y; y < g.y + g.h; y++) {
          const other = cells.get(`${x},${y}`);
          assert.equal(other, undefined, `${title} overlaps ${other}`);
          cells.set(`${x},${y}`, title);
        }
      }
    }
  });

  it('has the panels issue 8 asks for', () => {
    const byTitle = new Map(panels.map((p) => [p.title, p]));
    for (const title of [
      'Carbon intensity and ρ',
      'FLOPs rate: executed, full fine-tuning, saved',
      'FLOPs saved, cumulative',
      'Executed FLOPs, % of full fine-tuning',
      'Power by device and method',
      'Energy by phase',
      'Emissions and avoided CO₂',
      'Loss',
      'Step time and step rate',
      'Selected tensors per layer',
      'Carbon data age and provider errors',
      'Job progress',
      'ETA',
    ]) {
      assert.ok(byTitle.has(title), title);
    }
    assert.equal(byTitle.get('Selected tensors per layer')!.type, 'heatmap');
    const { fieldConfig } = byTitle.get('Carbon intensity and ρ') as unknown as {
      fieldConfig: { overrides: Array<{ properties: Array<{ id: string; value: unknown }> }> };
    };
    const rightAxis = fieldConfig.overrides.filter((o) =>
      o.properties.some((p) => p.id === 'custom.axisPlacement' && p.value === 'right'),
    );
    assert.equal(rightAxis.length, 3, 'ρ asked, ρ effective and the ρ floor on a second axis');
  });

  it('queries only metric names the daemon exports, and every one of them', () => {
    const known = seriesNames();
    const used = new Set<string>();
    for (const q of dashboardQueries(dashboard)) {
      for (const name of greentrainerNamesIn(q.expr)) {
        assert.ok(known.has(name), `${q.source} ${q.refId}: unknown metric ${name}`);
        used.add(name.replace(/_(bucket|sum|count)$/, ''));
      }
    }
    assert.deepEqual(
      Object.keys(GREENTRAINER_METRICS).filter((name) => !used.has(name)),
      [],
    );
  });

  it('has PromQL that promtool parses (each expression checked as a recording rule)', function () {
    requireTool(this, 'promtool', 'prometheus');
    const queries = dashboardQueries(dashboard);
    const rules = queries.map(
      (q, i) =>
        `      - record: dashboard_query_${i}\n        expr: ${JSON.stringify(expandVariables(q.expr))}\n`,
    );
    const dir = mkdtempSync(join(tmpdir(), 'greentrainer-promql-'));
    try {
      const file = join(dir, 'dashboard-rules.yml');
      writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${rules.join('')}`);
      const r = run('promtool', ['check', 'rules', file]);
      assert.equal(r.status, 0, r.output);
      assert.match(r.output, new RegExp(`SUCCESS: ${queries.length} rules found`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('grafana/provisioning', () => {
  it('provisions a Prometheus datasource and the dashboards folder', () => {
    const ds = readFileSync(join(grafanaDir, 'provisioning/datasources/prometheus.yml'), 'utf8');
    assert.match(ds, /^apiVersion: 1$/m);
    assert.match(ds, /^ {4}type: prometheus$/m);
    assert.match(ds, /^ {4}url: http:\/\/127\.0\.0\.1:9090$/m);
    const dashboards = readFileSync(join(grafanaDir, 'provisioning/dashboards/greentrainer.yml'), 'utf8');
    assert.match(dashboards, /^apiVersion: 1$/m);
    assert.match(dashboards, /^ {6}path: \/var\/lib\/grafana\/dashboards\/greentrainer$/m);
  });
});
