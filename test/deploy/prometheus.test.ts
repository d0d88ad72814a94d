import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { greentrainerNamesIn, seriesNames } from './metric-names.js';
import { requireTool, run } from './tools.js';

const promDir = fileURLToPath(new URL('../../deploy/prometheus/', import.meta.url));
const alertsText = readFileSync(join(promDir, 'alerts.yml'), 'utf8');
const testsText = readFileSync(join(promDir, 'alerts.test.yml'), 'utf8');
const alertNames = [...alertsText.matchAll(/^\s+- alert: (\w+)$/gm)].map((m) => m[1]!);

describe('deploy/prometheus', () => {
  describe('with promtool', () => {
    before(function () {
      requireTool(this, 'promtool', 'prometheus');
    });

    it('passes promtool check config, rule file and file_sd targets included', () => {
      const r = run('promtool', ['check', 'config', 'prometheus.yml'], promDir);
      assert.equal(r.status, 0, r.output);
      assert.match(r.output, /SUCCESS: 1 rule files found/);
    });

    it('passes promtool check rules', () => {
      const r = run('promtool', ['check', 'rules', 'alerts.yml'], promDir);
      assert.equal(r.status, 0, r.output);
      assert.match(r.output, new RegExp(`SUCCESS: ${alertNames.length} rules found`));
    });

    it('passes promtool test rules: each alert fires on its synthetic series, none on a healthy daemon', () => {
      const r = run('promtool', ['test', 'rules', 'alerts.test.yml'], promDir);
      assert.equal(r.status, 0, r.output);
      assert.match(r.output, /SUCCESS/);
    });
  });

  it('has a rules test that fires each alert and one that checks it stays silent when healthy', () => {
    assert.ok(alertNames.length >= 8, `alerts found: ${alertNames.join(', ')}`);
    for (const name of alertNames) {
      assert.match(testsText, new RegExp(`alertname: ${name}\\n\\s+exp_alerts:\\n\\s+- exp_labels:`), name);
      assert.match(
        testsText,
        new RegExp(`\\{ eval_time: 8h, alertname: ${name}, exp_alerts: \\[\\] \\}`),
        name,
      );
    }
  });

  it('uses only metric names the daemon exports', () => {
    const known = seriesNames();
    const unknown = greentrainerNamesIn(alertsText).filter((name) => !known.has(name));
    assert.deepEqual(unknown, []);
  });
});
