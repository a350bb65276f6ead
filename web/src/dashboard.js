// The dsim dashboard (web/src/dashboard.html), served by `dsim run
// --dashboard` and `dsim serve` (src/viz/dashboard.cpp). It reads the run's
// document from /api/status, then follows /api/events (server-sent events,
// one document per `data:` line) until a document says "final": true. Every
// text that comes from a config or a result (names of groups, statistics,
// runs) goes into the page as text (textContent, uPlot's labels), never as
// markup. When the stream ends the page keeps what it last drew.
//
// For the browser tests: window.dsimDashboard holds {updates, state, final,
// finalAt (performance.now() when the final document came), connection,
// charts, drawn, events, now, errors}.
(function () {
  'use strict';
  const page = { updates: 0, state: 'connecting', final: false, finalAt: null,
                 connection: 'connecting', charts: 0, drawn: 0, events: 0, now: 0, errors: [] };
  window.dsimDashboard = page;

  const params = new URLSearchParams(location.search);
  const token = params.get('token');
  const runIndex = params.get('run');
  function api(path) {
    const q = new URLSearchParams();
    if (runIndex !== null) q.set('run', runIndex);
    if (token) q.set('token', token);
    const s = q.toString();
    return s ? path + '?' + s : path;
  }

  const palette = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2',
                   '#7f7f7f', '#bcbd22', '#17becf'];
  const $ = (id) => document.getElementById(id);
  function element(tag, className, text) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // --- numbers for people ---
  function num(v, digits) {
    if (v === null || v === undefined || !isFinite(v)) return '–';
    const a = Math.abs(v);
    if (a >= 1e9) return (v / 1e9).toFixed(2) + ' G';
    if (a >= 1e6) return (v / 1e6).toFixed(2) + ' M';
    if (a >= 1e4) return (v / 1e3).toFixed(1) + ' k';
    if (Number.isInteger(v)) return String(v);
    return String(parseFloat(v.toPrecision(digits || 4)));
  }
  function bytes(v) {
    if (!v) return '–';
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return (i ? v.toFixed(1) : String(v)) + ' ' + units[i];
  }
  function duration(s) {
    if (s === null || s === undefined || !isFinite(s)) return '–';
    if (s < 60) return s.toFixed(1) + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' min ' + Math.round(s % 60) + ' s';
    return Math.floor(s / 3600) + ' h ' + Math.round((s % 3600) / 60) + ' min';
  }
  function percent(v) { return isFinite(v) ? (100 * v).toFixed(1) + ' %' : '–'; }

  // --- charts ---
  const charts = new Map();  // key -> {plot, box}
  function chartWidth(grid) {
    const w = grid.clientWidth;
    const columns = Math.max(1, Math.floor(w / 430));
    return Math.max(300, Math.floor(w / columns) - 24);
  }
  // A line (or bar) chart in `grid`, made at the first data it gets.
  function chart(grid, key, title, xLabel, labels, data, bars) {
    let c = charts.get(key);
    if (!c) {
      const box = element('div', 'chart');
      box.appendChild(element('h3', null, title));
      const holder = element('div', 'plot');
      box.appendChild(holder);
      grid.appendChild(box);
      const series = [{ label: xLabel }];
      labels.forEach((label, i) => {
        const color = palette[i % palette.length];
        const s = { label: label, stroke: color, width: 1.5, spanGaps: true,
                    points: { show: false } };
        if (bars) {
          s.fill = color + '99';
          s.paths = uPlot.paths.bars({ size: [0.8 / labels.length, Infinity],
                                        align: labels.length > 1 ? (i === 0 ? -1 : 1) : 0 });
        }
        series.push(s);
      });
      const ticks = (u, values) => values.map((v) => num(v, 3));
      const scales = { x: { time: false } };
      const xAxis = { label: xLabel, size: 40, values: ticks };
      if (bars) {
        // Whole partitions, each bar in its own slot; counts from zero.
        scales.x.range = (u, min, max) => [min - 0.5, max + 0.5];
        scales.y = { range: (u, min, max) => [0, max > 0 ? max * 1.05 : 1] };
        xAxis.incrs = [1, 2, 5, 10, 20, 50, 100];
        xAxis.values = (u, values) => values.map((v) => (Number.isInteger(v) ? String(v) : ''));
      }
      const opts = {
        width: chartWidth(grid), height: 200, series: series, scales: scales,
        axes: [xAxis, { size: 64, values: ticks }],
        legend: { show: labels.length > 1 },
      };
      const plot = new uPlot(opts, data, holder);
      c = { plot: plot, grid: grid };
      charts.set(key, c);
      page.charts = charts.size;
    } else {
      c.plot.setData(data);
    }
    return c;
  }
  function countDrawn() {
    let drawn = 0;
    for (const c of charts.values()) {
      const canvas = c.plot.root.querySelector('canvas');
      if (canvas && canvas.width > 0 && c.plot.data[0].length > 0) drawn++;
    }
    page.drawn = drawn;
  }
  window.addEventListener('resize', () => {
    for (const c of charts.values()) c.plot.setSize({ width: chartWidth(c.grid), height: 200 });
  });

  // --- the page from one document ---
  function tile(label, value) {
    const t = element('div', 'tile');
    t.appendChild(element('div', 'label', label));
    t.appendChild(element('div', 'value', value));
    return t;
  }

  function render(doc) {
    page.updates++;
    page.state = doc.state;
    if (doc.final && !page.final) page.finalAt = performance.now();
    page.final = !!doc.final;
    page.events = doc.events;
    page.now = doc.now;

    $('run-name').textContent = doc.run.name;
    const status = $('status');
    const statusText = { starting: 'starting', running: 'running', finished: 'run finished',
                         stopped: 'run stopped', failed: 'run failed' };
    status.textContent = statusText[doc.state] || doc.state;
    status.className = 'status ' + doc.state;
    $('run-info').textContent = doc.run.sync + ' sync, ' + doc.run.threads + ' thread' +
      (doc.run.threads === 1 ? '' : 's') +
      (doc.run.ranks > 1 ? ' × ' + doc.run.ranks + ' processes' : '') +
      (doc.message ? ' — ' + doc.message : '');
    const note = $('note');
    note.hidden = !doc.run.note;
    note.textContent = doc.run.note || '';

    const nav = $('runs');
    if (doc.runs.length > 1 && nav.childElementCount === 0) {
      doc.runs.forEach((name, i) => {
        const a = element('a', i === doc.run_index ? 'current' : null, name);
        const q = new URLSearchParams();
        q.set('run', String(i));
        if (token) q.set('token', token);
        a.href = '?' + q.toString();
        nav.appendChild(a);
      });
    }

    $('bar-fill').style.width = (100 * doc.fraction).toFixed(2) + '%';
    $('progress-text').textContent = 'simulated time ' + num(doc.now) + ' of ' +
      num(doc.end_time) + ' (' + percent(doc.fraction) + ')' +
      (doc.final ? '' : ', ETA ' + duration(doc.eta_seconds));

    const tiles = $('tiles');
    tiles.replaceChildren(
      tile('events', num(doc.events)),
      tile('events/s (recent)', num(doc.final ? doc.event_rate : doc.recent_rate)),
      tile('events/s (whole run)', num(doc.event_rate)),
      tile('wall time', duration(doc.wall_seconds)),
      tile('blocked share', percent(doc.blocked_share)),
      tile('optimistic efficiency', percent(doc.efficiency)),
      tile('rollbacks', num(doc.rollbacks)),
      tile('events rolled back', num(doc.rolled_back)),
      tile('GVT rounds', num(doc.gvt_rounds)),
      tile('memory (RSS) now', bytes(doc.rss_bytes)),
      tile('memory peak', bytes(doc.peak_rss_bytes)),
      tile('checkpoints', num(doc.checkpoints_written)));

    const h = doc.history;
    const runGrid = $('run-charts');
    chart(runGrid, 'now', 'Simulated time (GVT) against wall time', 'wall s', ['simulated time'],
          [h.wall, h.now]);
    chart(runGrid, 'rate', 'Events per second', 'wall s', ['events/s'], [h.wall, h.rate]);
    chart(runGrid, 'rollbacks', 'Rollbacks (so far)', 'wall s', ['rollbacks'],
          [h.wall, h.rollbacks]);
    chart(runGrid, 'rss', 'Memory (RSS, MiB)', 'wall s', ['RSS'],
          [h.wall, h.rss.map((v) => v / 1048576)]);

    const parts = doc.partitions;
    const ids = parts.map((p) => p.partition);
    const partGrid = $('partition-charts');
    chart(partGrid, 'p-events', 'Events per partition', 'partition', ['events'],
          [ids, parts.map((p) => p.events)], true);
    const share = (p, key) => {
      const t = p.busy_seconds + p.blocked_seconds;
      return t > 0 ? p[key] / t : 0;
    };
    chart(partGrid, 'p-share', 'Busy and blocked share per partition', 'partition',
          ['busy', 'blocked'],
          [ids, parts.map((p) => share(p, 'busy_seconds')),
           parts.map((p) => share(p, 'blocked_seconds'))], true);
    const body = $('partitions').tBodies[0];
    body.replaceChildren(...parts.map((p) => {
      const tr = element('tr');
      for (const v of [String(p.partition), num(p.events), duration(p.busy_seconds),
                       duration(p.blocked_seconds), percent(share(p, 'busy_seconds')),
                       percent(share(p, 'blocked_seconds'))])
        tr.appendChild(element('td', null, v));
      return tr;
    }));

    const seriesGrid = $('series-charts');
    for (const s of doc.series)
      chart(seriesGrid, 'series:' + s.group + '\u0000' + s.stat, s.group + '.' + s.stat, 'time',
            [s.stat], [s.times, s.values]);
    $('series-empty').textContent = doc.series.length > 0 ? '' :
      (doc.final ? 'This run has no series.' : 'No committed samples yet (or the model records no series).');
    countDrawn();
  }

  function setConnection(text) {
    page.connection = text;
    $('connection').textContent = text === 'open' ? '' : text;
  }

  // --- the stream ---
  let failures = 0;
  function follow() {
    const source = new EventSource(api('/api/events'));
    source.onopen = () => { failures = 0; setConnection('open'); };
    source.onmessage = (e) => {
      let doc;
      try {
        doc = JSON.parse(e.data);
      } catch (err) {
        page.errors.push(String(err));
        return;
      }
      render(doc);
      if (doc.final) {
        source.close();  // nothing more will come; the page keeps this state
        setConnection('finished');
      }
    };
    source.onerror = () => {
      if (page.final) return;
      failures++;
      if (source.readyState === EventSource.CLOSED || failures >= 3) {
        source.close();
        setConnection('connection closed (the last state received is kept)');
        const status = $('status');
        if (page.state === 'running') {
          status.textContent = 'connection closed';
          status.className = 'status closed';
        }
      } else {
        setConnection('connection lost, reconnecting');
      }
    };
  }

  fetch(api('/api/status'), { cache: 'no-store' })
    .then((r) => {
      if (!r.ok) throw new Error('/api/status: HTTP ' + r.status);
      return r.json();
    })
    .then((doc) => {
      render(doc);
      if (doc.final) setConnection('finished');
      else follow();
    })
    .catch((err) => {
      page.errors.push(String(err));
      setConnection('cannot reach dsim: ' + String(err.message || err));
    });
})();
