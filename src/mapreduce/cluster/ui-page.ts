// The single-page job UI (no external assets): polls /api/status once a second and renders
// workers, jobs, stages with their DAG (SVG) and tasks with timings and attempts.
export const UI_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>switchyard cluster</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em}h2{font-size:1.1em;margin-top:1.5em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}
.alive{color:#080}.dead{color:#b00}.running{color:#06c}.done,.succeeded{color:#080}.failed{color:#b00}
svg text{font:12px system-ui}
</style></head><body>
<h1>switchyard cluster <span id="url"></span></h1>
<div id="counters"></div>
<h2>Workers</h2><table id="workers"><thead><tr><th class="l">id</th><th class="l">state</th><th class="l">address</th><th>cores</th><th>memory MB</th><th>running</th><th>done</th><th>failed</th><th>heartbeat age ms</th><th>cache bytes</th><th>shuffle bytes served</th><th>spill bytes</th></tr></thead><tbody></tbody></table>
<h2>Jobs</h2><div id="jobs"></div>
<script>
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
function dag(job) {
  const st = job.stages || [];
  if (st.length === 0) return '';
  const w = 170, h = 46, gap = 40;
  let s = '<svg class="dag" width="' + (st.length * (w + gap)) + '" height="' + (h + 20) + '">';
  st.forEach((x, i) => {
    const cx = i * (w + gap);
    s += '<rect x="' + cx + '" y="5" width="' + w + '" height="' + h + '" rx="6" fill="#eef" stroke="#88a"/>';
    s += '<text x="' + (cx + 8) + '" y="24">stage ' + esc(x.stageId) + ' ' + esc(x.kind) + '</text>';
    s += '<text x="' + (cx + 8) + '" y="40">' + esc(String(x.name).slice(0, 24)) + '</text>';
    if (i > 0) s += '<line x1="' + (cx - gap) + '" y1="' + (5 + h / 2) + '" x2="' + cx + '" y2="' + (5 + h / 2) + '" stroke="#555" marker-end="url(#a)"/>';
  });
  return s + '<defs><marker id="a" markerWidth="8" markerHeight="8" refX="8" refY="4" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#555"/></marker></defs></svg>';
}
function render(d) {
  document.getElementById('url').textContent = d.url;
  const c = d.counters;
  document.getElementById('counters').textContent = 'workers registered ' + c.workersRegistered + ', lost ' + c.workersLost + ', tasks launched ' + c.tasksLaunched + ', stale results ignored ' + c.staleEventsIgnored + ', auth failures ' + c.authFailures;
  document.querySelector('#workers tbody').innerHTML = d.workers.map((w) => '<tr data-worker="' + esc(w.id) + '"><td class="l">' + esc(w.id) + '</td><td class="l ' + esc(w.state) + '">' + esc(w.state) + '</td><td class="l">' + esc(w.host) + ':' + esc(w.blockPort) + '</td><td>' + w.cores + '</td><td>' + w.memoryMb + '</td><td>' + w.runningTasks + '</td><td>' + w.tasksDone + '</td><td>' + w.tasksFailed + '</td><td>' + (d.now - w.lastHeartbeatAt) + '</td><td>' + (w.stats.cacheBytes || 0) + '</td><td>' + (w.stats.bytesServed || 0) + '</td><td>' + (w.stats.spillBytes || 0) + '</td></tr>').join('');
  let html = '';
  for (const drv of d.drivers) {
    const st = drv.status || {};
    for (const job of (st.jobs || []).slice().reverse()) {
      html += '<div class="job" data-job="' + esc(job.jobId) + '"><h3>' + esc(drv.app) + ' / job ' + esc(job.jobId) + ' (' + esc(job.action) + ') <span class="' + esc(job.status) + '">' + esc(job.status) + '</span> ' + Math.round(job.ms) + ' ms</h3>' + dag(job);
      html += '<table class="stages"><thead><tr><th>stage</th><th class="l">name</th><th class="l">status</th><th>tasks</th><th>attempts</th><th>failed</th><th>records in</th><th>shuffle write</th><th>shuffle read</th><th>spill</th><th>ms</th></tr></thead><tbody>';
      for (const s of job.stages) html += '<tr><td>' + s.stageId + '</td><td class="l">' + esc(s.name) + '</td><td class="l ' + esc(s.status) + '">' + esc(s.status) + '</td><td>' + s.tasksDone + '/' + s.tasks + '</td><td>' + s.attempts + '</td><td>' + s.failedAttempts + '</td><td>' + s.recordsIn + '</td><td>' + s.shuffleWriteBytes + '</td><td>' + s.shuffleReadBytes + '</td><td>' + s.spillBytes + '</td><td>' + Math.round(s.ms) + '</td></tr>';
      html += '</tbody></table>';
      const tasks = (st.tasks || []).filter((t) => t.jobId === job.jobId);
      html += '<table class="tasks"><thead><tr><th class="l">task</th><th>stage</th><th>partition</th><th>attempt</th><th class="l">worker</th><th class="l">state</th><th>ms</th></tr></thead><tbody>';
      for (const t of tasks) html += '<tr><td class="l">' + esc(t.taskId) + '</td><td>' + t.stageId + '</td><td>' + t.partition + '</td><td>' + t.attempt + '</td><td class="l">' + esc(t.workerId) + '</td><td class="l ' + esc(t.state) + '">' + esc(t.state) + '</td><td>' + (t.ms == null ? '' : Math.round(t.ms)) + '</td></tr>';
      html += '</tbody></table></div>';
    }
  }
  document.getElementById('jobs').innerHTML = html || '<p>No jobs yet.</p>';
}
async function tick() {
  try { const r = await fetch('/api/status', { credentials: 'same-origin' }); if (r.ok) render(await r.json()); } catch (e) {}
  setTimeout(tick, 1000);
}
tick();
</script></body></html>`
