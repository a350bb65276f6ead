// The dsim report's charts (web/src/report.html). The page's data is the JSON
// in the script element #dsim-data, written by dsim (src/viz/report.cpp):
//   {"runs": [name, ...],
//    "charts": [{"title": "group.stat", "kind": "series" | "histogram",
//                "x_label": "...", "bin_width": w (histograms),
//                "lines": [{"run": i, "x": [...], "y": [...]}]}]}
// where a line's evenly spaced x may come as "x_start", "x_step", "x_count"
// (x[i] = x_start + i * x_step)
// (null stands for a value that is not a finite number).
// Every text from the data goes into the page as text (textContent, uPlot's
// labels), never as markup. When every chart is drawn, window.dsimReport.ready
// is true and <html data-ready> is set (the browser tests wait for that).
(function () {
  'use strict';
  // Milliseconds since the page's navigation began: when this script started,
  // when the data was parsed, when the charts were drawn.
  const state = { charts: 0, drawn: 0, ready: false, errors: [],
                  startMs: performance.now(), parsedMs: 0, madeMs: 0, drawMs: 0 };
  window.dsimReport = state;

  const palette = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2',
                   '#7f7f7f', '#bcbd22', '#17becf'];
  const height = 260;
  const data = JSON.parse(document.getElementById('dsim-data').textContent);
  const grid = document.getElementById('charts');
  const plots = [];
  for (const chart of data.charts)
    for (const line of chart.lines)
      if (!line.x) {
        line.x = new Array(line.x_count);
        for (let i = 0; i < line.x_count; i++) line.x[i] = line.x_start + i * line.x_step;
      }
  state.parsedMs = performance.now();

  function element(tag, className, text) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function fade(color) { return color + '55'; }

  // The chart's box (title and an empty plot), not yet in the page.
  function box(chart) {
    const box = element('div', 'chart');
    const title = element('h3', null, chart.title);
    title.appendChild(element('span', 'kind', ' ' + chart.kind));
    box.appendChild(title);
    const plot = element('div', 'plot');
    box.appendChild(plot);
    return plot;
  }

  // Draws the chart into its plot, `width` pixels wide.
  function make(chart, plot, width) {
    const histogram = chart.kind === 'histogram';
    const lines = chart.lines;
    const bars = histogram ? uPlot.paths.bars({ size: [lines.length > 1 ? 0.6 : 0.9, Infinity] })
                           : null;
    const series = [{ label: chart.x_label }];
    for (const line of lines) {
      const color = palette[line.run % palette.length];
      // Width 1: thicker lines cost several times as much to draw (a hundred
      // charts of 10,000 points each must draw in well under a second).
      // Several runs' points are joined on x, with gaps where a run has no
      // point: those gaps are spanned.
      const s = { label: data.runs[line.run], stroke: color, width: 1,
                  spanGaps: lines.length > 1, points: { show: false } };
      if (histogram) {
        s.paths = bars;
        s.fill = fade(color);
      }
      series.push(s);
    }
    const table = lines.length === 1 ? [lines[0].x, lines[0].y]
                                     : uPlot.join(lines.map((l) => [l.x, l.y]));
    const x = { time: false };
    if (histogram && chart.bin_width > 0) {
      const half = chart.bin_width / 2;
      x.range = (u, min, max) => [min - half, max + half];
    }
    const opts = {
      width: width,
      height: height,
      scales: { x: x },
      series: series,
      axes: [{ label: chart.x_label }, { size: 60 }],
      cursor: { drag: { x: true, y: false } },
    };
    plots.push({ plot: plot, chart: new uPlot(opts, table, plot) });
  }

  state.charts = data.charts.length;
  // The charts are drawn into boxes outside the page and put in at once:
  // one layout for all, not one per chart (the first box, put in first,
  // tells the width).
  const boxes = data.charts.map(box);
  if (boxes.length) grid.appendChild(boxes[0].parentNode);
  const width = Math.max(300, boxes.length ? boxes[0].clientWidth : 560);
  data.charts.forEach((chart, i) => {
    try {
      make(chart, boxes[i], width);
      state.drawn += 1;
    } catch (e) {
      state.errors.push(String(e));
      console.error('dsim report: chart ' + chart.title + ': ' + e);
    }
  });
  const rest = document.createDocumentFragment();
  for (const plot of boxes.slice(1)) rest.appendChild(plot.parentNode);
  grid.appendChild(rest);
  state.madeMs = performance.now();
  if (data.charts.length === 0) grid.appendChild(element('p', 'note', 'No series or histograms.'));

  window.addEventListener('resize', () => {
    for (const p of plots) p.chart.setSize({ width: Math.max(300, p.plot.clientWidth), height: height });
  });
  requestAnimationFrame(() => {
    state.drawMs = performance.now();
    state.ready = true;
    document.documentElement.dataset.ready = '1';
  });
})();
