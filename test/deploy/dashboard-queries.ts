// PromQL of the Grafana dashboard, ready to send to Prometheus: every panel target's expression
// and every query variable's selector, with Grafana's variables replaced by plain values. Used
// here to syntax-check them with promtool, and by the daemon's end-to-end test to run each one
// against a Prometheus that scrapes a live daemon.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const DASHBOARD_FILE = fileURLToPath(
  new URL('../../grafana/dashboards/greentrainer.json', import.meta.url),
);

/** One PromQL expression of the dashboard and where it comes from. */
export interface DashboardQuery {
  /** Panel title, or `variable <name>` for a query variable. */
  source: string;
  refId: string;
  /** As written in the dashboard, Grafana variables included. */
  expr: string;
  /** True for instant queries (stat panels over `$__range`); false for range queries. */
  instant: boolean;
}

/** The parts of Grafana's dashboard JSON read here; the rest is kept as `unknown`. */
export interface Target {
  refId?: string;
  expr?: string;
  instant?: boolean;
  datasource?: unknown;
  [key: string]: unknown;
}
export interface Panel {
  type: string;
  id: number;
  title?: string;
  datasource?: unknown;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Target[];
  panels?: Panel[];
  [key: string]: unknown;
}
export interface Variable {
  name: string;
  type: string;
  definition?: string;
  [key: string]: unknown;
}
export interface Dashboard {
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Variable[] };
  [key: string]: unknown;
}

export function readDashboard(file = DASHBOARD_FILE): Dashboard {
  return JSON.parse(readFileSync(file, 'utf8')) as Dashboard;
}

/** Panels in layout order, those inside collapsed rows included; rows themselves left out. */
export function dashboardPanels(dashboard: Dashboard): Panel[] {
  return dashboard.panels.flatMap((p) => (p.type === 'row' ? (p.panels ?? []) : [p]));
}

/**
 * Every PromQL expression of the dashboard: panel targets, then each query variable's series
 * selector (the `m{…}` of `label_values(m{…}, label)`, which Prometheus can evaluate as is).
 */
export function dashboardQueries(dashboard: Dashboard): DashboardQuery[] {
  const queries: DashboardQuery[] = [];
  for (const panel of dashboardPanels(dashboard)) {
    for (const t of panel.targets ?? []) {
      queries.push({
        source: panel.title ?? '',
        refId: t.refId ?? '',
        expr: t.expr ?? '',
        instant: t.instant === true,
      });
    }
  }
  for (const v of dashboard.templating.list) {
    if (v.type !== 'query') continue;
    const m = /^label_values\((.+),\s*\w+\)$/.exec(v.definition ?? '');
    if (!m)
      throw new Error(`variable ${v.name}: expected label_values(selector, label), got ${v.definition}`);
    queries.push({ source: `variable ${v.name}`, refId: v.name, expr: m[1]!, instant: true });
  }
  return queries;
}

/**
 * Values for Grafana's variables when an expression goes to Prometheus directly: every instance
 * and run (the dashboard's "All"), and windows that suit a scrape every 15 s over a short test.
 */
export const PROMETHEUS_VARIABLES: Readonly<Record<string, string>> = {
  instance: '.*',
  run: '.*',
  __rate_interval: '1m',
  __interval: '15s',
  __range: '5m',
};

/** Replaces `$name`, `${name}` and `${name:format}`; an unknown variable is an error, not left in. */
export function expandVariables(
  expr: string,
  values: Readonly<Record<string, string>> = PROMETHEUS_VARIABLES,
) {
  return expr.replace(
    /\$\{(\w+)(?::\w+)?\}|\$(\w+)/g,
    (_all, braced: string | undefined, bare: string | undefined) => {
      const name = (braced ?? bare)!;
      const value = values[name];
      if (value === undefined) throw new Error(`no value for Grafana variable $${name} in: ${expr}`);
      return value;
    },
  );
}
