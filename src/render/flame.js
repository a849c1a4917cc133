/* flame.js - the interactive part of kiln's flame graph SVG (embedded at
 * build time). The frames are drawn by kiln as static shapes; K (written
 * before this script) holds their data: K.F is a flat array of K.stride
 * numbers per frame, in the order of the <g> elements of #frames:
 *   name, depth, start, value, self, module, file, line, origin[, base]
 * where name, module and file index the string table K.S. This script adds
 * tooltips, click-to-zoom with a reset, and regular-expression search.
 * window.kiln exposes zoom/unzoom/search/resetSearch for tests and users. */
(function () {
	'use strict';
	var NAME = 0, DEPTH = 1, START = 2, VALUE = 3, SELF = 4, MOD = 5, FILE = 6, LINE = 7, ORIGIN = 8, BASE = 9;
	var MERGED = 99, SVGNS = 'http://www.w3.org/2000/svg';
	var F = K.F, S = K.S, st = K.stride, n = Math.floor(F.length / st);
	var frames, details, matchedEl, unzoomEl, searchEl;
	var zoomed = -1, searching = null, lastPattern = '';

	function fv(i, k) {
		return F[i * st + k];
	}

	function fmtValue(v) {
		var u = K.unit, t = K.type;
		if (u === 'nanoseconds') {
			if (v >= 1e9) return (v / 1e9).toFixed(2) + ' s';
			if (v >= 1e6) return (v / 1e6).toFixed(2) + ' ms';
			if (v >= 1e3) return (v / 1e3).toFixed(1) + ' \u00b5s';
			return v + ' ns';
		}
		if (u === 'bytes') {
			if (v >= 1048576) return (v / 1048576).toFixed(1) + ' MiB';
			if (v >= 1024) return (v / 1024).toFixed(1) + ' KiB';
			return v + ' bytes';
		}
		var label = !t || t === 'samples' ? 'samples' : t + (u && u !== 'count' ? ' ' + u : '');
		return v.toLocaleString('en-US') + ' ' + label;
	}

	function pct(v, total) {
		return total > 0 ? ((100 * v) / total).toFixed(2) + '%' : '0.00%';
	}

	/* The hover text: function, module, file:line, value and share. */
	function describe(i) {
		var name = S[fv(i, NAME)], v = fv(i, VALUE);
		if (fv(i, ORIGIN) === MERGED)
			return name + ': ' + fmtValue(v) + ', ' + pct(v, K.total) + ' (frames too narrow to draw, merged)';
		var s = name, mod = S[fv(i, MOD)], file = S[fv(i, FILE)], line = fv(i, LINE), self = fv(i, SELF);
		if (mod) s += ' in ' + mod;
		if (file) s += ' at ' + file + (line ? ':' + line : '');
		s += ' \u2014 ' + fmtValue(v) + ', ' + pct(v, K.total);
		if (self > 0 && self !== v) s += ' (self ' + pct(self, K.total) + ')';
		if (zoomed >= 0 && zoomed !== i) s += ', ' + pct(v, fv(zoomed, VALUE)) + ' of the zoomed frame';
		if (K.diff) {
			var now = K.total ? v / K.total : 0, before = K.btotal ? fv(i, BASE) / K.btotal : 0;
			var d = (now - before) * 100;
			s += '; base ' + (before * 100).toFixed(2) + '% \u2192 new ' + (now * 100).toFixed(2) + '% (' +
			     (d >= 0 ? '+' : '') + d.toFixed(2) + '%)';
		}
		return s;
	}

	/* Truncates a name to what fits in w pixels, with an ellipsis. */
	function fit(name, w) {
		var chars = Math.floor((w - 6) / K.cw);
		if (chars < 2) return '';
		var cps = Array.from(name);
		if (cps.length <= chars) return name;
		return cps.slice(0, chars - 1).join('') + '\u2026';
	}

	function place(i, x, w, parent) {
		var g = frames[i], r = g.querySelector('rect'), t = g.querySelector('text');
		g.style.display = '';
		g.classList.toggle('parent', !!parent);
		r.setAttribute('x', x.toFixed(1));
		r.setAttribute('width', w.toFixed(1));
		var text = fit(S[fv(i, NAME)], w);
		if (!t && text) {
			t = document.createElementNS(SVGNS, 'text');
			t.setAttribute('y', (parseFloat(r.getAttribute('y')) + 11.5).toFixed(1));
			g.appendChild(t);
		}
		if (t) {
			t.setAttribute('x', (x + 3).toFixed(1));
			t.textContent = text;
		}
	}

	/* Zooms into frame i: it and what it calls fill the width, its callers
	 * stay visible (faded) and everything else is hidden. */
	function zoom(i) {
		if (i < 0 || i >= n) return;
		if (fv(i, DEPTH) === 0) return unzoom();
		var zs = fv(i, START), zv = fv(i, VALUE), zd = fv(i, DEPTH);
		var width = K.w - 2 * K.xpad, scale = zv > 0 ? width / zv : 0;
		for (var j = 0; j < n; j++) {
			var s = fv(j, START), v = fv(j, VALUE), d = fv(j, DEPTH);
			if (d < zd && s <= zs && s + v >= zs + zv) place(j, K.xpad, width, true);
			else if (d >= zd && s >= zs && s + v <= zs + zv && v > 0) place(j, K.xpad + (s - zs) * scale, v * scale, false);
			else frames[j].style.display = 'none';
		}
		zoomed = i;
		unzoomEl.classList.remove('hide');
	}

	function unzoom() {
		var width = K.w - 2 * K.xpad, scale = K.total > 0 ? width / K.total : 0;
		for (var j = 0; j < n; j++) place(j, K.xpad + fv(j, START) * scale, fv(j, VALUE) * scale, false);
		zoomed = -1;
		unzoomEl.classList.add('hide');
	}

	/* Highlights frames whose name matches the regular expression and shows
	 * the share of the total they cover (nested matches counted once). */
	function search(pattern) {
		var re;
		try {
			re = new RegExp(pattern);
		} catch (e) {
			matchedEl.textContent = 'bad regular expression: ' + e.message;
			return -1;
		}
		var spans = [];
		for (var i = 0; i < n; i++) {
			var hit = fv(i, ORIGIN) !== MERGED && re.test(S[fv(i, NAME)]);
			frames[i].classList.toggle('match', hit);
			if (hit) spans.push([fv(i, START), fv(i, START) + fv(i, VALUE)]);
		}
		spans.sort(function (a, b) {
			return a[0] - b[0] || b[1] - a[1];
		});
		var covered = 0, end = -Infinity;
		for (var k = 0; k < spans.length; k++) {
			var a = Math.max(spans[k][0], end), b = spans[k][1];
			if (b > a) covered += b - a;
			if (b > end) end = b;
		}
		var share = K.total > 0 ? (100 * covered) / K.total : 0;
		searching = pattern;
		lastPattern = pattern;
		matchedEl.textContent = 'Matched: ' + share.toFixed(2) + '% (' + spans.length + ' frames)';
		searchEl.textContent = 'Reset Search';
		return share;
	}

	function resetSearch() {
		for (var i = 0; i < n; i++) frames[i].classList.remove('match');
		searching = null;
		matchedEl.textContent = ' ';
		searchEl.textContent = 'Search';
	}

	function promptSearch() {
		var p = window.prompt('Search frames (regular expression):', lastPattern);
		if (p !== null && p !== '') search(p);
	}

	function indexOf(target) {
		var g = target && target.closest ? target.closest('#frames > g') : null;
		return g ? g.kilnIndex : -1;
	}

	function init() {
		frames = document.getElementById('frames').children;
		details = document.getElementById('details');
		matchedEl = document.getElementById('matched');
		unzoomEl = document.getElementById('unzoom');
		searchEl = document.getElementById('search');
		for (var i = 0; i < frames.length; i++) frames[i].kilnIndex = i;
		var box = document.getElementById('frames');
		box.addEventListener('mouseover', function (e) {
			var i = indexOf(e.target);
			if (i < 0) return;
			var text = describe(i);
			details.textContent = text;
			var g = frames[i], t = g.querySelector('title');
			if (!t) {
				t = document.createElementNS(SVGNS, 'title');
				g.insertBefore(t, g.firstChild);
			}
			t.textContent = text;
		});
		box.addEventListener('mouseout', function () {
			details.textContent = ' ';
		});
		box.addEventListener('click', function (e) {
			var i = indexOf(e.target);
			if (i >= 0) zoom(i);
		});
		unzoomEl.addEventListener('click', unzoom);
		searchEl.addEventListener('click', function () {
			if (searching !== null) resetSearch();
			else promptSearch();
		});
		window.addEventListener('keydown', function (e) {
			if ((e.ctrlKey || e.metaKey) && (e.key === 'f' || e.key === 'F')) {
				e.preventDefault();
				promptSearch();
			} else if (e.key === 'Escape') {
				if (searching !== null) resetSearch();
				else unzoom();
			}
		});
		var m = /[?&]s=([^&]*)/.exec(window.location.search || '');
		if (m) search(decodeURIComponent(m[1]));
	}

	window.kiln = {
		zoom: zoom,
		unzoom: unzoom,
		search: search,
		resetSearch: resetSearch,
		describe: describe,
		count: n,
		frame: function (i) {
			return {name: S[fv(i, NAME)], depth: fv(i, DEPTH), start: fv(i, START), value: fv(i, VALUE)};
		},
		zoomed: function () {
			return zoomed;
		}
	};
	if (document.readyState === 'loading') window.addEventListener('DOMContentLoaded', init);
	else init();
})();
