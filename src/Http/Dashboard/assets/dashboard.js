// The dashboard's only script. Pages are rendered by the server and work without it; this adds
// the theme switch and live updates from the API's server-sent events (one EventSource per page,
// never a polling request). Every value from the server is put in the page as text
// (textContent), never as markup.
(function () {
  'use strict';

  var READY = ['SUCCESS', 'FAILURE', 'REVOKED'];
  var body = document.body;
  var root = body.getAttribute('data-root') || '/';

  var themeSelect = document.getElementById('theme');
  if (themeSelect) {
    themeSelect.value = document.documentElement.getAttribute('data-theme') || 'system';
    themeSelect.addEventListener('change', function () {
      document.documentElement.setAttribute('data-theme', themeSelect.value);
      try { localStorage.setItem('resultgrid.theme', themeSelect.value); } catch (e) { /* not kept */ }
    });
  }

  var live = body.getAttribute('data-live');
  var status = document.querySelector('[data-testid="live-status"]');
  function setStatus(text) {
    if (status) {
      status.textContent = text;
      status.setAttribute('data-state', text);
    }
  }

  function el(tag, text, attrs) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    if (attrs) { Object.keys(attrs).forEach(function (k) { if (attrs[k] !== null && attrs[k] !== undefined) { node.setAttribute(k, attrs[k]); } }); }
    return node;
  }

  function shortDate(iso) {
    if (!iso) { return ''; }
    var d = new Date(iso);
    return isNaN(d.getTime()) ? '' : d.toISOString().slice(0, 19).replace('T', ' ') + 'Z';
  }

  function stateBadge(state) {
    return el('span', state, { 'class': 'state', 'data-state': state, 'data-testid': 'state' });
  }

  function resultRow(item) {
    var tr = el('tr', null, { 'data-task-id': item.taskId });
    var id = el('td');
    id.appendChild(el('a', item.taskId, { href: root + 'results/' + encodeURIComponent(item.taskId), 'class': 'mono' }));
    tr.appendChild(id);
    var state = el('td');
    state.appendChild(stateBadge(item.state));
    tr.appendChild(state);
    tr.appendChild(el('td', item.name || ''));
    var at = el('td');
    at.appendChild(el('time', shortDate(item.at), { datetime: item.at }));
    tr.appendChild(at);
    tr.appendChild(el('td', item.worker || ''));
    return tr;
  }

  function findRow(tbody, taskId) {
    var rows = tbody.rows;
    for (var i = 0; i < rows.length; i++) {
      if (rows[i].getAttribute('data-task-id') === taskId) { return rows[i]; }
    }
    return null;
  }

  var pages = {
    results: function (source) {
      var tbody = document.querySelector('#results tbody');
      source.addEventListener('result', function (e) {
        var item = JSON.parse(e.data);
        var old = findRow(tbody, item.taskId);
        if (old) { old.remove(); }
        var row = resultRow(item);
        row.classList.add('live');
        tbody.insertBefore(row, tbody.firstChild);
        // A page left open all day stays small.
        while (tbody.rows.length > 500) { tbody.deleteRow(tbody.rows.length - 1); }
        var empty = document.querySelector('[data-testid="empty"]');
        if (empty) { empty.remove(); }
      });
    },

    results_detail: function (source) {
      var badge = document.querySelector('[data-testid="result-state"]');
      var note = document.querySelector('[data-testid="live-note"]');
      source.addEventListener('state', function (e) {
        var view = JSON.parse(e.data);
        if (badge && badge.textContent !== view.state) {
          badge.textContent = view.state;
          badge.setAttribute('data-state', view.state);
          if (note) {
            note.textContent = '';
            note.appendChild(document.createTextNode(' now ' + view.state + ' · '));
            note.appendChild(el('a', 'reload to see it', { href: window.location.pathname }));
          }
        }
        if (view.ready) { source.close(); setStatus('done'); }
      });
    },

    groups: function (source) {
      var progress = document.querySelector('[data-testid="group-progress"]');
      var counts = document.querySelector('[data-testid="group-counts"]');
      var tbody = document.querySelector('#children tbody');
      function recount() {
        var total = tbody.rows.length, done = 0, ok = 0, failed = 0;
        for (var i = 0; i < tbody.rows.length; i++) {
          var s = tbody.rows[i].querySelector('[data-testid="state"]').textContent;
          if (READY.indexOf(s) >= 0) { done++; }
          if (s === 'SUCCESS') { ok++; }
          if (s === 'FAILURE' || s === 'REVOKED') { failed++; }
        }
        show(done, total, ok, failed);
      }
      function show(done, total, ok, failed) {
        progress.value = done;
        progress.max = Math.max(total, 1);
        counts.textContent = done + ' of ' + total + ' complete · ' + ok + ' succeeded · ' + failed + ' failed · ' + (total - done) + ' waiting';
      }
      source.addEventListener('child', function (e) {
        var view = JSON.parse(e.data);
        var row = findRow(tbody, view.taskId);
        if (row) {
          var badge = row.querySelector('[data-testid="state"]');
          badge.textContent = view.state;
          badge.setAttribute('data-state', view.state);
          recount();
        }
      });
      source.addEventListener('done', function (e) {
        var group = JSON.parse(e.data);
        show(group.completed, group.total, group.succeeded, group.failed);
        source.close();
        setStatus('done');
        var chord = document.querySelector('[data-testid="chord-state"]');
        if (chord) { chord.textContent = chord.textContent + ' (reload for its outcome)'; }
      });
    },

    overview: function (source) {
      var series = { writes: [], reads: [], waits: [], latency: [] };
      var units = { writes: '/s', reads: '/s', waits: '/s', latency: ' ms' };
      function draw(name) {
        var svg = document.querySelector('[data-testid="chart-' + name + '"]');
        if (!svg) { return; }
        var points = series[name];
        var max = Math.max.apply(null, points.concat([1]));
        var step = 300 / 59;
        var d = points.map(function (v, i) {
          var x = (i + 60 - points.length) * step;
          var y = 58 - (v / max) * 56;
          return (i === 0 ? 'M' : 'L') + x.toFixed(1) + ',' + y.toFixed(1);
        }).join(' ');
        svg.querySelector('path').setAttribute('d', d);
      }
      source.addEventListener('stats', function (e) {
        var stats = JSON.parse(e.data);
        Object.keys(stats.states || {}).forEach(function (state) {
          var cell = document.querySelector('[data-testid="count-' + state + '"]');
          if (cell) { cell.textContent = Number(stats.states[state]).toLocaleString('en-US'); }
        });
        var latencies = (stats.silos || []).map(function (s) { return s.storeLatencyMs; }).filter(function (v) { return v !== null && v !== undefined; });
        var values = {
          writes: stats.totals.writesPerSecond,
          reads: stats.totals.readsPerSecond,
          waits: stats.totals.waitsPerSecond,
          latency: latencies.length ? latencies.reduce(function (a, b) { return a + b; }, 0) / latencies.length : 0
        };
        Object.keys(series).forEach(function (name) {
          series[name].push(values[name]);
          if (series[name].length > 60) { series[name].shift(); }
          draw(name);
          var now = document.querySelector('[data-testid="rate-' + name + '"]');
          if (now) { now.textContent = (Math.round(values[name] * 10) / 10) + units[name]; }
        });
        var tbody = document.querySelector('#silos tbody');
        if (tbody) {
          while (tbody.firstChild) { tbody.removeChild(tbody.firstChild); }
          (stats.silos || []).forEach(function (s) {
            var tr = el('tr');
            [s.address, s.writesPerSecond.toFixed(1), s.readsPerSecond.toFixed(1), s.waitsPerSecond.toFixed(1), String(s.activeWaiters),
              s.storeLatencyMs === null || s.storeLatencyMs === undefined ? '-' : s.storeLatencyMs.toFixed(2), shortDate(s.at)]
              .forEach(function (v) { tr.appendChild(el('td', v)); });
            tbody.appendChild(tr);
          });
        }
      });
    }
  };

  if (!live) { return; }
  var kind = body.getAttribute('data-page');
  if (kind === 'results' && !document.getElementById('results')) { kind = 'results_detail'; }
  var handler = pages[kind];
  if (!handler) { return; }
  var source = new EventSource(live);
  source.onopen = function () { setStatus('live'); };
  source.onerror = function () { setStatus(source.readyState === EventSource.CLOSED ? 'offline' : 'connecting'); };
  handler(source);
})();
