/**
 * The daemon's status page at `/`: one self-contained HTML document (no external assets, no
 * build step) for operators without Grafana. It polls `/v1/status` every 5 s for the numbers and
 * `/report.svg` every 15 s for the charts (intensity and ρ with pauses and the plan ahead, CO2e
 * emitted against full fine-tuning, loss, layers trained), both on the same listener. Read-only:
 * it needs no token. Figures are formatted by the functions below, which tests reuse.
 */

/**
 * The page's number formatting, as source for the page's script (and as functions for tests,
 * which compare what the page shows with `/v1/status`).
 */
export const format = {
  steps: (step: number, total: number) => `${step} / ${total}`,
  percent: (r: number) => `${(100 * r).toFixed(1)} %`,
  rho: (r: number) => `${Math.round(r * 1000) / 1000}`,
  grams: (g: number) =>
    g >= 1000 ? `${(g / 1000).toFixed(2)} kg` : `${g >= 100 ? Math.round(g) : Number(g.toPrecision(3))} g`,
  energy: (j: number) =>
    j >= 3.6e6
      ? `${(j / 3.6e6).toFixed(2)} kWh`
      : j >= 3600
        ? `${(j / 3600).toFixed(2)} Wh`
        : `${Number(j.toPrecision(3))} J`,
  duration: (s: number | null) => {
    if (typeof s !== 'number' || !Number.isFinite(s)) return '–';
    if (s < 90) return `${Math.round(s)} s`;
    if (s < 5400) return `${Math.round(s / 60)} min`;
    return `${(s / 3600).toFixed(1)} h`;
  },
};

function formatters(): string {
  return Object.entries(format)
    .map(([name, fn]) => `const ${name} = ${fn.toString()};`)
    .join('\n');
}

export const STATUS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>greentrainer</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 960px; padding: 16px; color: #222; }
  h1 { font-size: 20px; margin: 0 0 4px; }
  .sub { color: #666; margin-bottom: 16px; }
  .cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 10px; }
  .card { border: 1px solid #ddd; border-radius: 6px; padding: 8px 10px; }
  .card .k { color: #666; font-size: 12px; }
  .card .v { font-size: 20px; margin-top: 2px; }
  .bar { height: 6px; background: #eee; border-radius: 3px; margin-top: 6px; }
  .bar > div { height: 6px; background: #1e7b34; border-radius: 3px; width: 0; }
  table { border-collapse: collapse; margin-top: 8px; font-size: 13px; }
  td, th { padding: 2px 10px 2px 0; text-align: left; }
  h2 { font-size: 16px; margin: 20px 0 4px; }
  #error { color: #b00; }
  #charts svg { max-width: 100%; height: auto; }
</style>
</head>
<body>
<h1>greentrainer · <span id="job">…</span></h1>
<div class="sub"><span id="state">connecting</span> · backend <span id="backend">–</span> · carbon <span id="provider">–</span> · updated <span id="updated">–</span> <span id="error"></span></div>
<div class="cards">
  <div class="card"><div class="k">steps</div><div class="v" id="steps">–</div><div class="bar"><div id="progress"></div></div></div>
  <div class="card"><div class="k">ETA</div><div class="v" id="eta">–</div></div>
  <div class="card"><div class="k">ρ (FLOPs objective)</div><div class="v" id="rho">–</div></div>
  <div class="card"><div class="k">grid intensity</div><div class="v" id="intensity">–</div></div>
  <div class="card"><div class="k">FLOPs saved</div><div class="v" id="flops-saved">–</div></div>
  <div class="card"><div class="k">energy</div><div class="v" id="energy">–</div></div>
  <div class="card"><div class="k">CO2e emitted</div><div class="v" id="emitted">–</div></div>
  <div class="card"><div class="k">CO2e avoided</div><div class="v" id="avoided">–</div></div>
</div>
<h2>Why this ρ</h2>
<div id="reason">–</div>
<h2>Plan ahead</h2>
<table id="plan"></table>
<h2>Layers trained by the last selection</h2>
<div id="layers">no selection yet</div>
<h2>Over time</h2>
<div id="charts">loading…</div>
<script>
${formatters()}
const $ = (id) => document.getElementById(id);
const text = (id, v) => { $(id).textContent = v; };
async function refresh() {
  try {
    const r = await fetch('/v1/status', { cache: 'no-store' });
    const s = await r.json();
    const j = s.job, t = s.totals;
    text('job', j.name);
    text('state', j.state + (s.decision.pause ? ' · paused' : ''));
    text('backend', j.backend || '–');
    text('provider', (s.carbon.provider || '–') + (s.carbon.stale ? ' (stale)' : ''));
    text('steps', steps(j.step, j.totalSteps));
    $('progress').style.width = (100 * (j.progress || 0)).toFixed(1) + '%';
    text('eta', duration(j.etaSeconds));
    text('rho', s.decision.pause ? 'paused' : rho(s.decision.rho));
    text('intensity', s.carbon.reading ? Math.round(s.carbon.reading.intensity) + ' ' + s.carbon.reading.unit : '–');
    text('flops-saved', t ? percent(t.flops_saved_ratio) : '–');
    text('energy', t ? energy(t.energy_joules) : '–');
    text('emitted', t ? grams(t.emissions_grams) : '–');
    text('avoided', t ? grams(t.emissions_avoided_grams) : '–');
    text('reason', s.decision.reason);
    const rows = (s.plan || []).slice(0, 8).map((p) =>
      '<tr><td>' + new Date(p.from).toLocaleString() + '</td><td>' + (p.pause ? 'pause' : 'run at ρ ' + rho(p.rho)) +
      '</td><td>' + (p.intensity === undefined ? '' : Math.round(p.intensity) + ' g/kWh') + '</td></tr>');
    $('plan').innerHTML = '<tr><th>from</th><th>decision</th><th>forecast</th></tr>' + rows.join('');
    const l = s.layers_trained;
    if (l) {
      const names = Object.keys(l.layers).filter((n) => l.layers[n] > 0);
      $('layers').textContent = 'step ' + l.step + ', ρ ' + rho(l.rho) + ': ' +
        (names.length ? names.map((n) => n + (l.layers[n] < 1 ? ' (' + Math.round(100 * l.layers[n]) + '%)' : '')).join(', ') : 'none');
    }
    text('updated', new Date().toLocaleTimeString());
    text('error', '');
    document.body.dataset.step = String(j.step);
    document.body.dataset.statusLoaded = '1';
  } catch (e) {
    text('error', 'cannot reach the daemon: ' + e);
  }
}
async function charts() {
  try {
    const r = await fetch('/report.svg', { cache: 'no-store' });
    const svg = await r.text();
    $('charts').innerHTML = svg;
    const drawn = [...document.querySelectorAll('#charts path[data-series]')].filter((p) => Number(p.dataset.points) > 0);
    document.body.dataset.chartSeries = drawn.map((p) => p.dataset.series).join(',');
  } catch (e) {
    text('error', 'cannot load the charts: ' + e);
  }
}
refresh();
charts();
setInterval(refresh, 5000);
setInterval(charts, 15000);
</script>
</body>
</html>
`;
