(function () {
  // Flame graph tabs and search.
  var tabs = document.querySelectorAll('.fg-tab'), panels = document.querySelectorAll('.fg-panel');
  var input = document.querySelector('.fg-controls input');
  function select(metric) {
    tabs.forEach(function (t) { t.classList.toggle('active', t.getAttribute('data-metric') === metric); });
    panels.forEach(function (p) { p.style.display = p.getAttribute('data-metric') === metric ? '' : 'none'; });
  }
  tabs.forEach(function (t) { t.addEventListener('click', function () { select(t.getAttribute('data-metric')); }); });
  if (tabs.length) select(tabs[0].getAttribute('data-metric'));
  if (input) input.addEventListener('input', function () {
    document.querySelectorAll('svg.atr-flamegraph').forEach(function (s) { if (s.atrFlame) s.atrFlame.search(input.value); });
  });

  // Charts: every .chart-box with a data-chart attribute naming the id of
  // its JSON (AppendChartData): the timeline and the stack depths.
  var NS = 'http://www.w3.org/2000/svg';
  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function fmtBytes(v) {
    var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0;
    while (Math.abs(v) >= 1024 && i + 1 < u.length) { v /= 1024; i++; }
    return (i === 0 ? v.toFixed(0) : v.toFixed(Math.abs(v) < 10 ? 2 : Math.abs(v) < 100 ? 1 : 0)) + ' ' + u[i];
  }
  function niceStep(range, n, binary) {
    var raw = range / n;
    if (binary && raw >= 1) return Math.pow(2, Math.ceil(Math.log2(raw)));
    var p = Math.pow(10, Math.floor(Math.log10(raw))), m = raw / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  }
  function drawChart(box, data) {
    var W = 1180, H = 360, L = 78, R = 24, T = 16, B = 44;
    // step (optional): the tick spacing, so zoomed ticks get the decimals
    // that tell them apart.
    function fmtX(v, step) {
      if (data.x_is_seq) return 'seq ' + Math.round(v);
      function fixed(unit, digits) {
        if (step) digits = Math.max(digits, Math.min(6, Math.ceil(-Math.log10(step / unit))));
        return (v / unit).toFixed(digits);
      }
      if (v >= 1e9) return fixed(1e9, v >= 1e10 ? 1 : 2) + ' s';
      if (v >= 1e6) return fixed(1e6, v >= 1e7 ? 0 : 1) + ' ms';
      if (v >= 1e3) return fixed(1e3, 0) + ' \u00b5s';
      return v.toFixed(0) + ' ns';
    }
    var svg = el('svg', {viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, 'class': 'chart'}, box);
    // x from 0, or (zoom_to_data) from the first point.
    var xmin = data.zoom_to_data ? Infinity : 0, xmax = 0, ymax = 0;
    data.series.forEach(function (s) {
      s.points.forEach(function (p) {
        xmin = Math.min(xmin, p[0]); xmax = Math.max(xmax, p[0]); ymax = Math.max(ymax, p[1]);
      });
    });
    if (!isFinite(xmin)) xmin = 0;
    if (xmax <= xmin) xmax = xmin + 1;
    if (ymax <= 0) ymax = 1;
    var ystep = niceStep(ymax, 6, true);
    ymax = Math.ceil(ymax * 1.05 / ystep) * ystep;
    var xstep = niceStep(xmax - xmin, 10, false);
    function X(v) { return L + (W - L - R) * (v - xmin) / (xmax - xmin); }
    function Y(v) { return H - B - (H - T - B) * v / ymax; }
    for (var y = 0; y <= ymax + 0.5; y += ystep) {
      el('line', {x1: L, x2: W - R, y1: Y(y), y2: Y(y), 'class': 'grid'}, svg);
      el('text', {x: L - 6, y: Y(y) + 4, 'text-anchor': 'end'}, svg).textContent = fmtBytes(y);
    }
    for (var x = Math.ceil(xmin / xstep) * xstep; x <= xmax + (xmax - xmin) * 1e-4; x += xstep) {
      el('line', {x1: X(x), x2: X(x), y1: T, y2: H - B, 'class': 'grid'}, svg);
      el('text', {x: X(x), y: H - B + 16, 'text-anchor': 'middle'}, svg).textContent = fmtX(x, xstep);
    }
    el('line', {x1: L, x2: W - R, y1: H - B, y2: H - B, 'class': 'axis'}, svg);
    el('line', {x1: L, x2: L, y1: T, y2: H - B, 'class': 'axis'}, svg);
    el('text', {x: (L + W - R) / 2, y: H - 6, 'text-anchor': 'middle'}, svg).textContent =
        data.x_is_seq ? 'event sequence number' : 'time since the start of the recording';
    data.series.forEach(function (s, i) {
      if (!s.points.length) return;
      var d = s.points.map(function (p, j) { return (j ? 'L' : 'M') + X(p[0]).toFixed(1) + ' ' + Y(p[1]).toFixed(1); }).join(' ');
      if (i === 0 && data.fill_first) {
        var last = s.points[s.points.length - 1], first = s.points[0];
        el('path', {d: d + ' L' + X(last[0]).toFixed(1) + ' ' + Y(0) + ' L' + X(first[0]).toFixed(1) + ' ' + Y(0) + ' Z',
                    fill: s.color, 'fill-opacity': 0.12, stroke: 'none'}, svg);
      }
      el('path', {d: d, fill: 'none', stroke: s.color, 'stroke-width': i === 0 ? 1.8 : 1.5,
                  'stroke-linejoin': 'round', 'class': 'series'}, svg);
      el('rect', {x: L + 14, y: T + 8 + 18 * i, width: 14, height: 4, fill: s.color}, svg);
      el('text', {x: L + 34, y: T + 14 + 18 * i}, svg).textContent = s.name;
    });
    if (data.peak_bytes > 0) {
      el('circle', {cx: X(data.peak_x), cy: Y(data.peak_bytes), r: 4, fill: '#c2410c'}, svg);
      var right = X(data.peak_x) > W - 240;
      el('text', {x: X(data.peak_x) + (right ? -8 : 8), y: Y(data.peak_bytes) - 6,
                  'text-anchor': right ? 'end' : 'start'}, svg).textContent =
          data.peak_name + ' ' + fmtBytes(data.peak_bytes) + ' at ' + fmtX(data.peak_x);
    }
    // Hover: a cursor line and each series' value there.
    var cursor = el('line', {y1: T, y2: H - B, stroke: '#999', 'stroke-dasharray': '3 3', visibility: 'hidden'}, svg);
    var readout = el('text', {x: W - R, y: T + 12, 'text-anchor': 'end', visibility: 'hidden'}, svg);
    function valueAt(points, x) {
      var lo = 0, hi = points.length - 1;
      if (hi < 0 || x < points[0][0]) return null;
      while (lo < hi) { var mid = (lo + hi + 1) >> 1; if (points[mid][0] <= x) lo = mid; else hi = mid - 1; }
      return points[lo][1];
    }
    svg.addEventListener('mousemove', function (e) {
      var r = svg.getBoundingClientRect(), px = (e.clientX - r.left) * W / r.width;
      if (px < L || px > W - R) { cursor.setAttribute('visibility', 'hidden'); readout.setAttribute('visibility', 'hidden'); return; }
      var x = xmin + (px - L) * (xmax - xmin) / (W - L - R);
      cursor.setAttribute('x1', px); cursor.setAttribute('x2', px); cursor.setAttribute('visibility', 'visible');
      readout.textContent = fmtX(x) + ': ' + data.series.map(function (s) {
        var v = valueAt(s.points, x); return s.name.split(' (')[0] + ' ' + (v === null ? '-' : fmtBytes(v));
      }).join(', ');
      readout.setAttribute('visibility', 'visible');
    });
    svg.addEventListener('mouseleave', function () { cursor.setAttribute('visibility', 'hidden'); readout.setAttribute('visibility', 'hidden'); });
    box.setAttribute('data-drawn', '1');
  }
  document.querySelectorAll('.chart-box[data-chart]').forEach(function (box) {
    drawChart(box, JSON.parse(document.getElementById(box.getAttribute('data-chart')).textContent));
  });
})();
