// The live dashboard: one static page that polls /dashboard/snapshot.json once a second, turns the
// cumulative counters into rates, and draws them with uPlot. An optional WebSocket at
// /dashboard/live streams individual events (the demo fans access events out to it).

export const DASHBOARD_HTML = /* html */ `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Switchyard dashboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/dashboard/uplot.css">
<style>
  :root { --bg:#0f1419; --panel:#171d24; --fg:#d8dee6; --muted:#7d8a99; --ok:#3fb950; --bad:#f85149; --warn:#d29922; --accent:#58a6ff; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.4 system-ui, sans-serif; background:var(--bg); color:var(--fg); }
  header { padding:12px 20px; display:flex; gap:16px; align-items:baseline; border-bottom:1px solid #222b35; }
  header h1 { font-size:18px; margin:0; }
  header .status { color:var(--muted); }
  main { display:grid; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr)); gap:14px; padding:14px 20px; }
  section { background:var(--panel); border-radius:8px; padding:12px 14px; min-height:120px; }
  section h2 { font-size:15px; margin:0 0 8px; display:flex; justify-content:space-between; }
  section h2 small { color:var(--muted); font-weight:normal; }
  .kpis { display:flex; flex-wrap:wrap; gap:10px 18px; margin-bottom:8px; }
  .kpi b { display:block; font-size:20px; font-variant-numeric: tabular-nums; }
  .kpi span { color:var(--muted); font-size:12px; }
  table { width:100%; border-collapse:collapse; font-variant-numeric: tabular-nums; }
  th, td { text-align:left; padding:2px 6px; border-bottom:1px solid #222b35; }
  th { color:var(--muted); font-weight:normal; }
  .state-healthy { color:var(--ok); } .state-unhealthy, .state-ejected, .state-down { color:var(--bad); } .state-draining { color:var(--warn); }
  .absent { color:var(--muted); font-style:italic; }
  #tail { font-family: ui-monospace, monospace; font-size:12px; height:160px; overflow:hidden; white-space:pre; color:var(--muted); }
  .u-legend { font-size:12px; }
</style>
</head>
<body>
<header><h1 id="title">Switchyard</h1><span class="status" id="status">connecting…</span></header>
<main>
  <section id="proxy-pane"><h2>Reverse proxy <small id="proxy-sub"></small></h2>
    <div class="kpis" id="proxy-kpis"></div><div id="proxy-chart"></div><div id="region-chart"></div>
    <table id="servers"></table></section>
  <section id="broker-pane"><h2>Broker <small id="broker-sub"></small></h2>
    <div class="kpis" id="broker-kpis"></div><div id="broker-chart"></div><table id="nodes"></table><table id="streams"></table></section>
  <section id="mr-pane"><h2>MapReduce <small id="mr-sub"></small></h2>
    <div class="kpis" id="mr-kpis"></div><table id="stages"></table><div id="results"></div></section>
  <section id="live-pane"><h2>Live events <small id="live-sub">fan-out subscriber over WebSocket</small></h2><div id="tail"></div></section>
</main>
<script src="/dashboard/uplot.js"></script>
<script>
(() => {
  const WINDOW = 120
  const $ = (id) => document.getElementById(id)
  const fmt = (n, d = 0) => (n == null || Number.isNaN(n)) ? '–' : Number(n).toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d })
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]))
  const palette = ['#58a6ff', '#3fb950', '#d29922', '#f85149', '#bc8cff', '#39c5cf', '#ff7b72', '#a5d6ff', '#7ee787']
  window.__dashboard = { updates: 0, snapshots: 0, events: 0 }

  // A rolling chart: one x (seconds) and named series that may appear over time.
  function rolling(el, title) {
    const names = []
    const data = [[]]
    let plot = null
    const width = () => Math.max(300, el.clientWidth || el.parentElement.clientWidth - 28)
    function rebuild() {
      if (plot) plot.destroy()
      const series = [{}].concat(names.map((n, i) => ({ label: n, stroke: palette[i % palette.length], width: 1.5 })))
      plot = new uPlot({ title, width: width(), height: 170, series, axes: [{ stroke: '#7d8a99', grid: { stroke: '#222b35' } }, { stroke: '#7d8a99', grid: { stroke: '#222b35' } }], scales: { x: { time: true } } }, data, el)
    }
    return {
      push(t, values) {
        let changed = !plot
        for (const k of Object.keys(values)) if (!names.includes(k)) { names.push(k); data.push(data[0].map(() => null)); changed = true }
        data[0].push(t)
        names.forEach((n, i) => data[i + 1].push(values[n] ?? null))
        if (data[0].length > WINDOW) for (const arr of data) arr.shift()
        if (changed) rebuild(); else plot.setData(data)
        window.__dashboard.updates++
      },
    }
  }

  const charts = {
    proxy: rolling($('proxy-chart'), 'requests/s per server'),
    region: rolling($('region-chart'), 'requests/s per region'),
    broker: rolling($('broker-chart'), 'broker messages/s'),
  }
  let prev = null

  function rate(cur, old, dt) { return old == null ? 0 : Math.max(0, (cur - old) / dt) }
  function kpis(el, items) { el.innerHTML = items.map(([label, v]) => '<div class="kpi"><b>' + v + '</b><span>' + esc(label) + '</span></div>').join('') }
  function table(el, head, rows) { el.innerHTML = '<tr>' + head.map((h) => '<th>' + esc(h) + '</th>').join('') + '</tr>' + rows.map((r) => '<tr>' + r.map((c) => '<td>' + c + '</td>').join('') + '</tr>').join('') }
  function absent(pane, what) { $(pane).querySelector('h2 small').textContent = what }

  function render(s) {
    const t = s.time / 1000
    const dt = prev ? Math.max(0.001, (s.time - prev.time) / 1000) : 1
    if (s.title) $('title').textContent = s.title
    const p = s.proxy
    if (p) {
      const pp = prev && prev.proxy
      const hits = p.cache.hits, misses = p.cache.misses
      kpis($('proxy-kpis'), [
        ['requests/s', fmt(rate(p.requests, pp && pp.requests, dt), 1)],
        ['cache hit ratio', hits + misses > 0 ? fmt(100 * hits / (hits + misses), 1) + '%' : '–'],
        ['rate-limited', fmt(p.limited)],
        ['5xx', fmt(p.statusClasses['5xx'] || 0)],
        ['requests', fmt(p.requests)],
      ])
      const per = {}
      for (const srv of p.servers) {
        const old = pp && pp.servers.find((x) => x.id === srv.id)
        per[srv.id] = rate(srv.requests, old && old.requests, dt)
      }
      if (pp) charts.proxy.push(t, per)
      const reg = {}
      for (const [r, n] of Object.entries(p.regions)) reg[r] = rate(n, pp && pp.regions[r], dt)
      if (pp) charts.region.push(t, reg)
      table($('servers'), ['server', 'pool', 'region', 'health', 'requests', 'active'], p.servers.map((x) => [esc(x.id), esc(x.pool), esc(x.region || ''), '<span class="state-' + esc(x.state) + '">' + esc(x.state) + '</span>', fmt(x.requests), fmt(x.active)]))
      $('proxy-sub').textContent = p.servers.length + ' servers'
    } else absent('proxy-pane', 'not connected')
    const b = s.broker
    if (b) {
      const bp = prev && prev.broker
      const rin = rate(b.inMsgs, bp && bp.inMsgs, dt), rout = rate(b.outMsgs, bp && bp.outMsgs, dt)
      kpis($('broker-kpis'), [['msgs in/s', fmt(rin, 1)], ['msgs out/s', fmt(rout, 1)], ['connections', fmt(b.connections)], ['subscriptions', fmt(b.subscriptions)], ['slow consumers', fmt(b.slowConsumers)]])
      if (bp) charts.broker.push(t, { in: rin, out: rout })
      const rows = []
      for (const st of b.streams || []) {
        if (st.consumers.length === 0) rows.push([esc(st.name), fmt(st.messages), fmt(st.bytes), '', '', ''])
        for (const c of st.consumers) rows.push([esc(st.name), fmt(st.messages), fmt(st.bytes), esc(c.name), fmt(c.pending), fmt(c.ackPending)])
      }
      table($('streams'), ['stream', 'depth', 'bytes', 'consumer', 'lag', 'ack pending'], rows)
      const cl = b.cluster
      table($('nodes'), ['node', 'link', 'address', 'msgs in', 'msgs out', 'interest'], cl ? cl.nodes.map((x) => [esc(x.name), esc(x.kind + (x.tls ? ' (tls)' : '')), esc(x.addr), fmt(x.inMsgs), fmt(x.outMsgs), fmt(x.subscriptions)]) : [])
      $('broker-sub').textContent = (cl ? 'cluster ' + cl.name + ', ' + cl.nodes.length + ' nodes, ' : '') + (b.streams || []).length + ' streams'
    } else absent('broker-pane', 'not connected')
    const m = s.mapreduce
    if (m) {
      const j = m.lastJob
      kpis($('mr-kpis'), [['jobs run', fmt(m.jobs)], ['last job', j ? fmt(j.durationMs) + ' ms' : '–'], ['finished', j ? new Date(j.finishedAt).toLocaleTimeString() : '–']])
      if (j) {
        table($('stages'), ['stage', 'tasks', 'time ms', 'shuffle bytes', 'spill bytes'], j.stages.map((st) => [esc(st.id + ' ' + st.name), fmt(st.tasks), fmt(st.durationMs), fmt(st.shuffleBytes), fmt(st.spillBytes)]))
        $('results').innerHTML = Object.entries(j.results).map(([name, rows]) => {
          const cols = rows.length ? Object.keys(rows[0]) : []
          return '<h3 style="font-size:13px;margin:10px 0 4px">' + esc(name) + '</h3><table><tr>' + cols.map((c) => '<th>' + esc(c) + '</th>').join('') + '</tr>' +
            rows.slice(0, 8).map((r) => '<tr>' + cols.map((c) => '<td>' + esc(typeof r[c] === 'number' ? fmt(r[c], Number.isInteger(r[c]) ? 0 : 2) : r[c]) + '</td>').join('') + '</tr>').join('') + '</table>'
        }).join('')
      }
      $('mr-sub').textContent = j ? 'job ' + j.id : 'waiting for the first job'
    } else absent('mr-pane', 'not connected')
    prev = s
    window.__dashboard.snapshots++
    $('status').textContent = 'updated ' + new Date(s.time).toLocaleTimeString()
  }

  async function poll() {
    try {
      const r = await fetch('/dashboard/snapshot.json', { cache: 'no-store' })
      if (r.ok) render(await r.json()); else $('status').textContent = 'snapshot: HTTP ' + r.status
    } catch (e) { $('status').textContent = 'disconnected: ' + e.message }
    setTimeout(poll, 1000)
  }
  poll()

  const lines = []
  function live() {
    let ws
    try { ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/dashboard/live') } catch { return }
    ws.onmessage = (ev) => {
      window.__dashboard.events++
      lines.push(String(ev.data).slice(0, 200))
      if (lines.length > 12) lines.shift()
      $('tail').textContent = lines.join('\\n')
    }
    ws.onerror = () => { $('live-sub').textContent = 'no live feed on this server' }
    ws.onclose = () => setTimeout(live, 3000)
  }
  live()
})()
</script>
</body>
</html>
`
