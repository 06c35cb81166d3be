// qreport's report page. The data is report.json (and the mappings) embedded once in the page;
// this script builds the summary and the module table from it, and draws a module's plots as
// SVG only when the module is opened, so a model with hundreds of layers stays quick to load.
'use strict';
(function () {
  const data = JSON.parse(document.getElementById('qreport-data').textContent);
  const K = data.keys;
  const report = data.report;
  const SVG_NS = 'http://www.w3.org/2000/svg';

  // ---- reading report.json -------------------------------------------------------------
  function num(v) {
    if (typeof v === 'number') return v;
    if (v === K.inf) return Infinity;
    if (v === K.negInf) return -Infinity;
    if (v === K.nan) return NaN;
    return null;
  }
  function nums(list) { return Array.isArray(list) ? list.map(num) : []; }
  function esc(text) {
    return String(text).replace(/[&<>"']/g, c => ({
      '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'
    })[c]);
  }
  function fmt(v) {
    if (v === null || v === undefined) return '-';
    if (!isFinite(v)) return isNaN(v) ? 'nan' : (v > 0 ? 'inf' : '-inf');
    if (v === 0) return '0';
    const a = Math.abs(v);
    if (a < 1e-3 || a >= 1e6) return v.toExponential(2);
    return String(Number(v.toPrecision(3)));
  }
  function shortClass(name) { return name ? name.slice(name.lastIndexOf('.') + 1) : ''; }
  function count(list) { return (list || []).filter(Boolean).length; }
  function indices(list) {
    const out = [];
    (list || []).forEach((v, i) => { if (v) out.push(i); });
    return out;
  }
  function some(list, limit) {
    const shown = list.slice(0, limit || 10).join(', ');
    return list.length > (limit || 10) ? shown + ' and ' + (list.length - (limit || 10)) + ' more' : shown;
  }

  // Each detector is recognised by a key only it writes, so renamed detectors still show.
  const KINDS = {
    perChannel: K.perChannelSupported,
    dynamic: K.dynamicRecommended,
    equalization: K.moduleEqualizationRecommended,
    outlier: K.outlierPercentileRatios,
  };
  const detectorNames = Object.keys(report).filter(
    name => name !== K.schemaVersion && name !== K.model && name !== K.batches &&
      name !== K.threads && name !== K.notObserved && name !== K.notAnalysed);
  // Per-channel yes/no arrays come as {bits: "0110"} to keep the page small.
  for (const detector of detectorNames) {
    for (const f of Object.values(report[detector])) {
      for (const [key, value] of Object.entries(f)) {
        if (value && typeof value === 'object' && !Array.isArray(value) && 'bits' in value) {
          f[key] = Array.from(value.bits, c => c === '1');
        }
      }
    }
  }
  const byFqn = new Map(data.modules.map(fqn => [fqn, { fqn: fqn, found: {}, problems: [] }]));
  for (const detector of detectorNames) {
    for (const [fqn, f] of Object.entries(report[detector])) {
      const m = byFqn.get(fqn);
      if (!m) continue;
      for (const [kind, key] of Object.entries(KINDS)) {
        if (key in f) m.found[kind] = f;
      }
      if (f[K.problem]) m.problems.push({ detector: detector, message: f[K.problem] });
    }
  }

  // A verdict per column: the text shown, its class, and how it sorts.
  function weights(m) {
    const f = m.found.perChannel;
    if (!f) return null;
    if (f[K.perChannelUsed]) return { text: 'per-channel (already)', cls: 'dim' };
    if (f[K.perChannelSupported]) return { text: 'switch to per-channel', cls: 'rec' };
    return { text: 'per-tensor (no kernel)', cls: 'dim' };
  }
  function activations(m) {
    const f = m.found.dynamic;
    if (!f) return null;
    if (f[K.problem]) return { text: 'not judged', cls: 'skip' };
    if (f[K.dynamicRecommended] && f[K.isDynamicSupported]) return { text: 'dynamic', cls: 'rec' };
    if (f[K.dynamicRecommended]) return { text: 'static (dynamic unsupported)', cls: 'dim' };
    return { text: 'static', cls: 'dim' };
  }
  function equalization(m) {
    const f = m.found.equalization;
    if (!f) return null;
    if (f[K.problem]) return { text: 'not judged', cls: 'skip' };
    const channels = (f[K.equalizationRecommended] || []).length;
    const benefit = count(f[K.equalizationRecommended]);
    return f[K.moduleEqualizationRecommended]
      ? { text: 'equalize', cls: 'rec', note: benefit + '/' + channels }
      : { text: 'no', cls: 'dim', note: benefit + '/' + channels };
  }
  function outliers(m) {
    const f = m.found.outlier;
    if (!f) return null;
    if (f[K.problem]) return { text: 'not judged', cls: 'skip' };
    const n = count(f[K.outliersDetected]);
    const dead = count(f[K.deadChannels]);
    if (n > 0) return { text: 'outliers', cls: 'bad', note: n + '/' + (f[K.outliersDetected] || []).length, sort: n };
    if (dead > 0) return { text: 'dead channels', cls: 'skip', note: String(dead), sort: 0.5 };
    return { text: 'none', cls: 'dim', sort: 0 };
  }

  const rows = data.modules.map((fqn, index) => {
    const m = byFqn.get(fqn);
    const dyn = m.found.dynamic;
    return {
      index: index,
      fqn: fqn,
      module: m,
      layer: !!(m.found.perChannel || m.found.dynamic || m.found.equalization),
      type: m.found.outlier ? shortClass(m.found.outlier[K.moduleType]) : '',
      weights: weights(m),
      activations: activations(m),
      ratio: dyn ? num(dyn[K.outputComparisonStat]) : null,
      equalization: equalization(m),
      outliers: outliers(m),
    };
  });

  const COLUMNS = [
    { id: 'index', title: '#', num: true, value: r => r.index },
    { id: 'fqn', title: 'module', value: r => r.fqn },
    { id: 'type', title: 'type', value: r => r.type },
    { id: 'weights', title: 'weights', verdict: true },
    { id: 'activations', title: 'activations', verdict: true },
    { id: 'ratio', title: 'output batch/epoch range', num: true, value: r => r.ratio },
    { id: 'equalization', title: 'equalization', verdict: true },
    { id: 'outliers', title: 'input outliers', verdict: true },
  ];
  for (const c of COLUMNS) {
    if (c.verdict) {
      c.value = r => r[c.id] ? (r[c.id].sort !== undefined ? r[c.id].sort : r[c.id].text) : null;
    }
  }

  // ---- page state ------------------------------------------------------------------------
  const state = { sort: 'index', descending: false, text: '', layersOnly: false, pick: null, open: new Set() };

  function matches(r) {
    if (state.layersOnly && !r.layer) return false;
    if (state.pick && (!r[state.pick.column] || r[state.pick.column].text !== state.pick.text)) return false;
    if (!state.text) return true;
    const hay = [r.fqn, r.type, r.weights, r.activations, r.equalization, r.outliers]
      .map(v => v && typeof v === 'object' ? v.text : v || '').join(' ').toLowerCase();
    return hay.includes(state.text.toLowerCase());
  }
  function compare(a, b) {
    const column = COLUMNS.find(c => c.id === state.sort);
    const x = column.value(a), y = column.value(b);
    // Missing values sort last in both directions.
    if (x === null || x === undefined || (typeof x === 'number' && isNaN(x))) return 1;
    if (y === null || y === undefined || (typeof y === 'number' && isNaN(y))) return -1;
    let order = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
    if (order === 0) order = a.index - b.index;
    return state.descending ? -order : order;
  }

  // ---- summary ---------------------------------------------------------------------------
  function renderSummary() {
    const groups = [
      ['weights', 'Weights'], ['activations', 'Activations'],
      ['equalization', 'Input-weight equalization'], ['outliers', 'Input outliers'],
    ];
    const html = [];
    for (const [column, title] of groups) {
      const counts = new Map();
      for (const r of rows) if (r[column]) counts.set(r[column].text, (counts.get(r[column].text) || 0) + 1);
      if (counts.size === 0) continue;
      html.push('<div class="card"><h3>' + esc(title) + '</h3>');
      for (const [text, n] of counts) {
        html.push('<button data-column="' + column + '" data-text="' + esc(text) + '"><span>' +
          esc(text) + '</span><b>' + n + '</b></button>');
      }
      html.push('</div>');
    }
    const problems = rows.filter(r => r.module.problems.length > 0).length;
    if (problems > 0) {
      html.push('<div class="card"><h3>Not judged</h3><span class="skip">' + problems +
        ' module(s) could not be judged by some detector; open them for the reason.</span></div>');
    }
    const summary = document.getElementById('summary');
    summary.innerHTML = html.join('') || '<p>No detector reported on any module.</p>';
    summary.addEventListener('click', event => {
      const button = event.target.closest('button');
      if (!button) return;
      state.pick = { column: button.dataset.column, text: button.dataset.text };
      renderTable();
      document.getElementById('layers').scrollIntoView();
    });
  }

  // ---- module table ----------------------------------------------------------------------
  const table = document.getElementById('layers');
  const tbody = table.tBodies[0];

  function renderHead() {
    table.tHead.innerHTML = '<tr>' + COLUMNS.map(c => '<th data-column="' + c.id + '"' +
      (c.num ? ' class="num"' : '') + '>' + esc(c.title) + '</th>').join('') + '</tr>';
    table.tHead.addEventListener('click', event => {
      const th = event.target.closest('th');
      if (!th) return;
      const id = th.dataset.column;
      state.descending = state.sort === id ? !state.descending : false;
      state.sort = id;
      renderTable();
    });
  }

  function cell(r, c) {
    if (c.verdict) {
      const v = r[c.id];
      if (!v) return '<td class="dim">-</td>';
      return '<td><span class="' + v.cls + '">' + esc(v.text) + '</span>' +
        (v.note ? ' <span class="dim">' + esc(v.note) + '</span>' : '') + '</td>';
    }
    if (c.id === 'fqn') {
      return '<td class="fqn">' + esc(r.fqn || '<root>') +
        (r.module.problems.length ? ' <span class="skip" title="not judged by some detector">!</span>' : '') + '</td>';
    }
    const v = c.value(r);
    return '<td' + (c.num ? ' class="num"' : '') + '>' + esc(c.num ? fmt(v) : v || '') + '</td>';
  }

  function renderTable() {
    for (const th of table.tHead.rows[0].cells) {
      th.removeAttribute('aria-sort');
      if (th.dataset.column === state.sort) th.setAttribute('aria-sort', state.descending ? 'descending' : 'ascending');
    }
    const shown = rows.filter(matches).sort(compare);
    const html = [];
    for (const r of shown) {
      const open = state.open.has(r.index);
      html.push('<tr class="layer' + (open ? ' open' : '') + '" data-index="' + r.index + '">' +
        COLUMNS.map(c => cell(r, c)).join('') + '</tr>');
      if (open) html.push('<tr class="detail" data-index="' + r.index + '"><td colspan="' + COLUMNS.length + '"></td></tr>');
    }
    tbody.innerHTML = html.join('');
    for (const tr of tbody.querySelectorAll('tr.detail')) renderDetail(tr.cells[0], rows[Number(tr.dataset.index)]);
    document.getElementById('count').textContent = shown.length + ' of ' + rows.length + ' modules';
    const chip = document.getElementById('chip');
    chip.innerHTML = state.pick
      ? '<button title="show all">' + esc(state.pick.column + ': ' + state.pick.text) + ' \u00d7</button>' : '';
  }

  function bindTable() {
    tbody.addEventListener('click', event => {
      const tr = event.target.closest('tr.layer');
      if (!tr) return;
      const index = Number(tr.dataset.index);
      if (state.open.has(index)) state.open.delete(index); else state.open.add(index);
      renderTable();
    });
    // 'change' too: clearing a field from script or autofill fires no 'input'.
    for (const type of ['input', 'change']) {
      document.getElementById('filter').addEventListener(type, event => {
        if (state.text === event.target.value.trim()) return;
        state.text = event.target.value.trim();
        renderTable();
      });
    }
    document.getElementById('layers-only').addEventListener('change', event => {
      state.layersOnly = event.target.checked;
      renderTable();
    });
    document.getElementById('chip').addEventListener('click', () => {
      state.pick = null;
      renderTable();
    });
  }

  // ---- one module's findings -------------------------------------------------------------
  function findings(m) {
    const lines = [];
    const pc = m.found.perChannel;
    if (pc) {
      const source = pc[K.configurationSource] ? ' (from ' + pc[K.configurationSource] + ')' : '';
      lines.push(pc[K.perChannelUsed]
        ? 'Weights are already quantized per channel' + source + '.'
        : pc[K.perChannelSupported]
          ? '<span class="rec">Switch the weights to per-channel</span>: ' + esc(pc[K.backend]) +
            ' supports it and they are per-tensor now' + esc(source) + '.'
          : 'Per-tensor weights: ' + esc(pc[K.backend]) + ' has no per-channel kernel for this layer.');
    }
    const dyn = m.found.dynamic;
    if (dyn && !dyn[K.problem]) {
      const tol = num(dyn[K.dynamicStaticTolerance]);
      const verdict = dyn[K.dynamicRecommended]
        ? (dyn[K.isDynamicSupported] ? '<span class="rec">dynamic activations</span>'
          : 'dynamic would fit, but only Linear layers support it: static')
        : 'static activations';
      lines.push('Batch/epoch range ratio: input ' + fmt(num(dyn[K.inputComparisonStat])) + ' (' +
        esc(dyn[K.inputClassification]) + '), output ' + fmt(num(dyn[K.outputComparisonStat])) + ' (' +
        esc(dyn[K.outputClassification]) + '); tolerance ' + fmt(tol) + ' \u2192 ' + verdict + '.');
    }
    const eq = m.found.equalization;
    if (eq && !eq[K.problem]) {
      const t = num(eq[K.equalizationThreshold]);
      const flags = eq[K.equalizationRecommended] || [];
      lines.push(count(flags) + ' of ' + flags.length + ' channels have s_c within [' + fmt(t) + ', ' +
        fmt(1 / t) + '] \u2192 ' + (eq[K.moduleEqualizationRecommended]
          ? '<span class="rec">equalize</span> (at least 40% benefit).' : 'do not equalize (fewer than 40% benefit).'));
    }
    const out = m.found.outlier;
    if (out && !out[K.problem]) {
      const flagged = indices(out[K.outliersDetected]);
      const dead = indices(out[K.deadChannels]);
      const sufficient = out[K.outlierSufficientBatches] || [];
      const few = flagged.filter(c => sufficient[c] === false);
      lines.push(flagged.length
        ? '<span class="bad">Outliers</span> in ' + flagged.length + ' of ' + (out[K.outliersDetected] || []).length +
          ' input channels (axis ' + esc(out[K.outlierChannelAxis]) + ', max/' + fmt(num(out[K.outlierReferencePercentile])) +
          ' percentile > ' + fmt(num(out[K.outlierRatioThreshold])) + '): ' + some(flagged) + '.'
        : 'No outlier channels in the input (ratio threshold ' + fmt(num(out[K.outlierRatioThreshold])) + ').');
      if (few.length) lines.push('Ratios from too few batches in channels ' + some(few) + '.');
      const unbounded = (out[K.unboundedRatioBatches] || []).map((k, c) => k > 0 ? c : -1).filter(c => c >= 0);
      if (unbounded.length) lines.push('Unbounded ratios (the ' + fmt(num(out[K.outlierReferencePercentile])) +
        ' percentile was 0 in some batch, so max/percentile has no finite value) in channels ' + some(unbounded) + '.');
      if (dead.length) lines.push('Dead input channels (zero in every batch): ' + some(dead) + '.');
    }
    for (const p of m.problems) {
      lines.push('<span class="skip">Not judged by ' + esc(p.detector) + ':</span> ' + esc(p.message));
    }
    return lines;
  }

  function renderDetail(td, r) {
    const m = r.module;
    const lines = findings(m);
    td.innerHTML = '<ul class="findings">' + lines.map(l => '<li>' + l + '</li>').join('') + '</ul>' +
      '<div class="plots"></div>';
    const plots = td.querySelector('.plots');
    const eq = m.found.equalization, out = m.found.outlier, dyn = m.found.dynamic;
    if (eq && (eq[K.inputPerChannelMax] || []).length) {
      addPlot(plots, 'input-range', rangeChart('Input range per channel', nums(eq[K.inputPerChannelMin]),
        nums(eq[K.inputPerChannelMax]), 'input channel (axis ' + eq[K.equalizationChannelAxis] + ')'));
    } else if (out && (out[K.inputPerChannelMax] || []).length) {
      const max = nums(out[K.inputPerChannelMax]);
      addPlot(plots, 'input-range', rangeChart('Input maximum per channel', max.map(() => 0), max,
        'input channel (axis ' + out[K.outlierChannelAxis] + ')'));
    }
    if (eq && (eq[K.weightPerChannelMax] || []).length) {
      addPlot(plots, 'weight-range', rangeChart('Weight range per input channel', nums(eq[K.weightPerChannelMin]),
        nums(eq[K.weightPerChannelMax]), 'input channel of the weight'));
    }
    if (out && (out[K.outlierPercentileRatios] || []).length) addPlot(plots, 'outlier-ratios', ratioChart(out));
    if (eq && (eq[K.equalizationComparison] || []).length) addPlot(plots, 'equalization', comparisonChart(eq));
    if (dyn && !dyn[K.problem]) addPlot(plots, 'batch-epoch', batchEpochChart(dyn));
    if (!plots.children.length) plots.innerHTML = '<p class="dim">No per-channel data for this module.</p>';
  }

  // ---- plots: hand-written SVG -----------------------------------------------------------
  const W = 440, H = 230, L = 52, R = 12, T = 26, B = 38;
  const PW = W - L - R, PH = H - T - B;

  // Non-finite bounds (a report without the value) fall back to [0, 1] so no loop runs away
  // and no coordinate is NaN.
  function niceAxis(lo, hi, log) {
    if (log) {
      if (!(lo > 0 && isFinite(lo))) lo = 0.1;
      if (!(hi > 0 && isFinite(hi))) hi = 10;
      const a = Math.floor(Math.log10(lo));
      const b = Math.max(Math.ceil(Math.log10(hi)), a + 1);
      const step = Math.ceil((b - a) / 6);
      const ticks = [];
      for (let e = a; e < b + step; e += step) ticks.push(Math.pow(10, e));
      return { lo: ticks[0], hi: ticks[ticks.length - 1], ticks: ticks, log: true };
    }
    if (!isFinite(lo) || !isFinite(hi)) { lo = 0; hi = 1; }
    if (!(lo < hi)) { const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1; lo -= pad; hi += pad; }
    const rough = (hi - lo) / 5, power = Math.pow(10, Math.floor(Math.log10(rough)));
    const step = [1, 2, 5, 10].map(x => x * power).find(s => s >= rough);
    const ticks = [];
    const first = Math.floor(lo / step) * step, last = Math.ceil(hi / step) * step;
    for (let t = first; t <= last + step * 1e-6; t += step) ticks.push(Math.abs(t) < step * 1e-9 ? 0 : t);
    return { lo: first, hi: last, ticks: ticks, log: false };
  }

  // A frame with axes; `y(v)` maps a value, `x(i)` the centre of channel i of n.
  function frame(title, n, axis, xLabel) {
    const y = v => {
      const f = axis.log ? (Math.log10(v) - Math.log10(axis.lo)) / (Math.log10(axis.hi) - Math.log10(axis.lo))
        : (v - axis.lo) / (axis.hi - axis.lo);
      return T + PH * (1 - Math.min(1, Math.max(0, f)));
    };
    const x = i => L + PW * (i + 0.5) / n;
    let svg = '<text class="title" x="' + L + '" y="16">' + esc(title) + '</text>';
    for (const t of axis.ticks) {
      svg += '<line class="grid" x1="' + L + '" x2="' + (L + PW) + '" y1="' + y(t).toFixed(1) + '" y2="' + y(t).toFixed(1) + '"/>' +
        '<text x="' + (L - 5) + '" y="' + (y(t) + 4).toFixed(1) + '" text-anchor="end">' + fmt(t) + '</text>';
    }
    svg += '<line class="axis" x1="' + L + '" x2="' + (L + PW) + '" y1="' + (T + PH) + '" y2="' + (T + PH) + '"/>';
    const step = Math.max(1, Math.ceil(n / 8));
    for (let i = 0; i < n; i += step) {
      svg += '<text x="' + x(i).toFixed(1) + '" y="' + (T + PH + 14) + '" text-anchor="middle">' + i + '</text>';
    }
    svg += '<text x="' + (L + PW / 2) + '" y="' + (H - 4) + '" text-anchor="middle">' + esc(xLabel) + '</text>';
    return { x: x, y: y, svg: svg, barWidth: Math.min(18, Math.max(1, 0.7 * PW / n)) };
  }

  function finite(values) { return values.filter(v => v !== null && isFinite(v)); }

  // One vertical bar from min to max per channel, zero marked.
  function rangeChart(title, lo, hi, xLabel) {
    const n = hi.length;
    const all = finite(lo.concat(hi)).concat([0]);
    const axis = niceAxis(Math.min.apply(null, all), Math.max.apply(null, all), false);
    const f = frame(title, n, axis, xLabel);
    let d = '';
    for (let i = 0; i < n; i++) {
      if (lo[i] === null || hi[i] === null || !isFinite(lo[i]) || !isFinite(hi[i])) continue;
      const top = f.y(hi[i]), bottom = f.y(lo[i]);
      d += 'M' + f.x(i).toFixed(1) + ' ' + bottom.toFixed(1) + 'V' + Math.min(top, bottom - 1).toFixed(1);
    }
    const svg = f.svg + '<line class="axis" x1="' + L + '" x2="' + (L + PW) + '" y1="' + f.y(0).toFixed(1) +
      '" y2="' + f.y(0).toFixed(1) + '" stroke-dasharray="3 3"/>' +
      '<path d="' + d + '" stroke="#1f5fbf" stroke-width="' + f.barWidth.toFixed(2) + '" fill="none"/>';
    return { svg: svg, n: n, readout: i => 'channel ' + i + ': ' + fmt(lo[i]) + ' to ' + fmt(hi[i]) };
  }

  // Max/percentile ratio per channel against the threshold; outliers red, dead channels grey.
  function ratioChart(out) {
    const ratios = nums(out[K.outlierPercentileRatios]);
    const flagged = out[K.outliersDetected] || [], dead = out[K.deadChannels] || [];
    // Saturated averages (3.4e38 / batches) say "unbounded", not a height: they are drawn to
    // the top of the axis and kept out of its scale.
    const unbounded = out[K.unboundedRatioBatches] || [];
    const total = num(out[K.outlierTotalBatches]);
    const threshold = num(out[K.outlierRatioThreshold]);
    const n = ratios.length;
    const top = Math.max.apply(null, finite(ratios.filter((v, i) => !(unbounded[i] > 0)).concat([threshold, 1]))) * 1.1;
    const axis = niceAxis(0, top, false);
    const f = frame('Outlier ratio per input channel', n, axis, 'input channel (axis ' + out[K.outlierChannelAxis] + ')');
    const paths = { normal: '', outlier: '', dead: '' };
    for (let i = 0; i < n; i++) {
      const kind = dead[i] ? 'dead' : flagged[i] ? 'outlier' : 'normal';
      const v = ratios[i];
      if (kind === 'dead') {
        paths.dead += 'M' + f.x(i).toFixed(1) + ' ' + (T + PH) + 'V' + (T + PH - 6);
      } else if (v !== null && !isNaN(v)) {
        paths[kind] += 'M' + f.x(i).toFixed(1) + ' ' + (T + PH) + 'V' + f.y(isFinite(v) && !(unbounded[i] > 0) ? v : axis.hi).toFixed(1);
      }
    }
    const w = f.barWidth.toFixed(2);
    let svg = f.svg +
      '<path d="' + paths.normal + '" stroke="#1f5fbf" stroke-width="' + w + '"/>' +
      '<path d="' + paths.outlier + '" stroke="#c62828" stroke-width="' + w + '"/>' +
      '<path d="' + paths.dead + '" stroke="#9aa0aa" stroke-width="' + w + '"/>';
    if (threshold !== null && isFinite(threshold)) svg +=
      '<line x1="' + L + '" x2="' + (L + PW) + '" y1="' + f.y(threshold).toFixed(1) + '" y2="' + f.y(threshold).toFixed(1) +
      '" stroke="#c62828" stroke-dasharray="5 3"/>' +
      '<text x="' + (L + PW) + '" y="' + (f.y(threshold) - 4).toFixed(1) + '" text-anchor="end" fill="#c62828">threshold ' + fmt(threshold) + '</text>';
    return {
      svg: svg, n: n,
      readout: i => 'channel ' + i + ': ratio ' +
        (unbounded[i] > 0 ? 'unbounded: percentile 0 in ' + unbounded[i] + (total !== null ? ' of ' + total : '') + ' batches' : fmt(ratios[i])) +
        (flagged[i] ? ' (outlier)' : '') + (dead[i] ? ' (dead)' : ''),
    };
  }

  // s_c per channel on a log scale, with the band [t, 1/t] where equalization helps.
  function comparisonChart(eq) {
    const s = nums(eq[K.equalizationComparison]);
    const given = num(eq[K.equalizationThreshold]);
    const t = given > 0 && isFinite(given) ? given : 1;
    const positive = finite(s).filter(v => v > 0).concat([t, 1 / t]);
    const axis = niceAxis(Math.min.apply(null, positive), Math.max.apply(null, positive), true);
    const n = s.length;
    const f = frame('Equalization s_c per channel', n, axis, 'input channel');
    const band = '<rect x="' + L + '" width="' + PW + '" y="' + f.y(Math.max(t, 1 / t)).toFixed(1) + '" height="' +
      (f.y(Math.min(t, 1 / t)) - f.y(Math.max(t, 1 / t))).toFixed(1) + '" fill="#e3f1e6"/>';
    let dots = '';
    const good = eq[K.equalizationRecommended] || [];
    for (let i = 0; i < n; i++) {
      if (s[i] === null || !(s[i] > 0) || !isFinite(s[i])) continue;
      dots += '<circle cx="' + f.x(i).toFixed(1) + '" cy="' + f.y(s[i]).toFixed(1) + '" r="2.2" fill="' +
        (good[i] ? '#1e7b3a' : '#5d6678') + '"/>';
    }
    // The band goes under the grid and dots, so it is drawn first.
    return { svg: band + f.svg + dots, n: n, readout: i => 'channel ' + i + ': s_c ' + fmt(s[i]) + (good[i] ? ' (benefits)' : '') };
  }

  // Average batch range / epoch range before and after the layer, against the tolerance.
  function batchEpochChart(dyn) {
    const values = [['input', num(dyn[K.inputComparisonStat])], ['output', num(dyn[K.outputComparisonStat])]];
    const given = num(dyn[K.dynamicStaticTolerance]);
    const tol = given !== null && isFinite(given) ? given : 0.5;
    const hi = Math.max(1, tol, ...finite(values.map(v => v[1])));
    const x = v => L + PW * Math.min(1, Math.max(0, v / hi));
    let svg = '<text class="title" x="' + L + '" y="16">Batch range / epoch range</text>';
    for (const t of [0, 0.25, 0.5, 0.75, 1].map(v => v * hi)) {
      svg += '<line class="grid" x1="' + x(t).toFixed(1) + '" x2="' + x(t).toFixed(1) + '" y1="' + T + '" y2="' + (T + PH) + '"/>' +
        '<text x="' + x(t).toFixed(1) + '" y="' + (T + PH + 14) + '" text-anchor="middle">' + fmt(t) + '</text>';
    }
    values.forEach(([label, v], i) => {
      const yy = T + 20 + i * 70;
      svg += '<text x="' + (L - 5) + '" y="' + (yy + 22) + '" text-anchor="end">' + label + '</text>';
      if (v !== null && isFinite(v)) {
        svg += '<rect x="' + L + '" y="' + yy + '" width="' + (x(v) - L).toFixed(1) + '" height="36" fill="' +
          (v > tol ? '#1f5fbf' : '#e08a00') + '"/><text x="' + (x(v) + 4).toFixed(1) + '" y="' + (yy + 22) + '">' + fmt(v) + '</text>';
      }
    });
    svg += '<line x1="' + x(tol).toFixed(1) + '" x2="' + x(tol).toFixed(1) + '" y1="' + (T + 6) + '" y2="' + (T + PH) +
      '" stroke="#c62828" stroke-dasharray="5 3"/><text x="' + (x(tol) + 4).toFixed(1) + '" y="' + (T + 10) +
      '" fill="#c62828">tolerance ' + fmt(tol) + '</text>' +
      '<text x="' + (L + PW / 2) + '" y="' + (H - 4) + '" text-anchor="middle">above the tolerance: stationary, static quantization fits</text>';
    return { svg: svg, n: 0, readout: null };
  }

  function addPlot(container, name, chart) {
    const figure = document.createElement('figure');
    figure.innerHTML = '<svg xmlns="' + SVG_NS + '" class="plot" data-plot="' + name + '" viewBox="0 0 ' + W + ' ' + H +
      '" width="' + W + '" height="' + H + '">' + chart.svg + '</svg><figcaption>\u00a0</figcaption>';
    container.appendChild(figure);
    if (!chart.readout || !chart.n) return;
    const svg = figure.querySelector('svg'), caption = figure.querySelector('figcaption');
    svg.addEventListener('mousemove', event => {
      const box = svg.getBoundingClientRect();
      const at = (event.clientX - box.left) * W / box.width;
      const i = Math.floor((at - L) / PW * chart.n);
      caption.textContent = i >= 0 && i < chart.n ? chart.readout(i) : '\u00a0';
    });
  }

  // ---- mappings --------------------------------------------------------------------------
  function qconfigText(q) {
    return q === null ? '<span class="dim">not quantized (float)</span>'
      : esc(q.activation) + ' activations, ' + esc(q.weight).replace('_', '-') + ' weights';
  }
  function renderMappings() {
    const qm = data.qconfig_mapping, em = data.equalization_mapping;
    const q = document.getElementById('qconfig');
    if (!qm) {
      q.innerHTML = '<p class="dim">Not available: qconfig_mapping.json was not next to the report.</p>';
    } else {
      const rowsHtml = [];
      if ('global' in qm) rowsHtml.push(['global', '', qm.global]);
      for (const e of qm.object_type || []) rowsHtml.push(['object type', e.type, e.qconfig]);
      for (const e of qm.module_name_regex || []) rowsHtml.push(['module name regex', e.regex, e.qconfig]);
      for (const e of qm.module_name || []) rowsHtml.push(['module name', e.name, e.qconfig]);
      q.innerHTML = rowsHtml.length ? '<table class="mapping"><thead><tr><th>applies to</th><th>name</th><th>qconfig</th></tr></thead><tbody>' +
        rowsHtml.map(([scope, name, config]) => '<tr><td>' + scope + '</td><td class="fqn">' + esc(name) + '</td><td>' +
          qconfigText(config) + '</td></tr>').join('') + '</tbody></table>'
        : '<p class="dim">Empty mapping: PyTorch\u2019s default_qconfig everywhere.</p>';
    }
    const e = document.getElementById('equalization');
    if (!em) {
      e.innerHTML = '<p class="dim">Not available: equalization_mapping.json was not next to the report.</p>';
    } else if (!(em[K.modules] || []).length) {
      e.innerHTML = '<p class="dim">No module benefits from input-weight equalization.</p>';
    } else {
      e.innerHTML = '<table class="mapping"><thead><tr><th>module</th><th class="num">channels that benefit</th></tr></thead><tbody>' +
        em[K.modules].map(m => '<tr><td class="fqn">' + esc(m[K.moduleName]) + '</td><td class="num">' +
          esc(m[K.channelsRecommended]) + ' of ' + esc(m[K.channels]) + '</td></tr>').join('') + '</tbody></table>';
    }
  }

  // Modules a detector left out on purpose (a BatchNorm folded into its layer has no input of
  // its own once fused): named in the header, so that no module goes missing without a word.
  function notObservedText() {
    const parts = [];
    for (const [detector, modules] of Object.entries(report[K.notObserved] || {})) {
      const names = Object.entries(modules).map(([fqn, m]) => fqn + ' (' + m[K.reason] + ')');
      parts.push(detector + ' did not observe ' + names.length + ': ' + some(names, 3));
    }
    const unanalysed = Object.entries(report[K.notAnalysed] || {}).map(
      ([weight, m]) => weight + ' (' + m[K.reason] + ')');
    if (unanalysed.length) {
      parts.push(unanalysed.length + ' Linear/Conv weight' + (unanalysed.length === 1 ? '' : 's') +
        ' not analysed: ' + some(unanalysed, 3));
    }
    return parts.length ? '; ' + parts.join('; ') : '';
  }

  // ---- start -----------------------------------------------------------------------------
  const batches = report[K.batches];
  document.getElementById('meta').textContent = rows.length + ' modules, ' + batches + ' calibration batch' +
    (batches === 1 ? '' : 'es') +
    (typeof report[K.threads] === 'number' ? ' on ' + report[K.threads] + ' thread' + (report[K.threads] === 1 ? '' : 's') : '') +
    ', detectors: ' + (detectorNames.join(', ') || 'none') + notObservedText();
  document.getElementById('footer').textContent = 'Written by ' + data.generator +
    '. Statistics as in torch.ao.quantization.fx._model_report; numbers rounded to 4 significant digits.';
  renderSummary();
  renderHead();
  bindTable();
  renderTable();
  renderMappings();
})();
