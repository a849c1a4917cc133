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
	/* the origin codes of flame_tree.h, as the hover names them */
	var LANG = ['', 'Rust, yours', 'Rust std', 'C', 'kernel', '', 'Rust crate', 'C++', 'Go', 'Java', 'Python'];
	var MERGED = 99, INLINED = 128, SVGNS = 'http://www.w3.org/2000/svg';
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
		if (!t || t === 'samples') return plural(v, 'sample', 'samples');
		return v.toLocaleString('en-US') + ' ' + t + (u && u !== 'count' ? ' ' + u : '');
	}

	function pct(v, total) {
		return total > 0 ? ((100 * v) / total).toFixed(2) + '%' : '0.00%';
	}

	/* A change in percentage points with its sign; never "-0.00". */
	function points(d) {
		var t = Math.abs(d).toFixed(2);
		if (t === '0.00') return '0.00 points';
		return (d > 0 ? '+' : '\u2212') + t + ' points';
	}

	/* The change of frame i from BASE to NEW and whether it is more than
	 * sampling noise: the 95% interval (Agresti-Caffo) of the difference of
	 * the two shares, from the samples they stand for; as flame_diff.c. */
	function change(i) {
		var v = fv(i, VALUE), b = fv(i, BASE), t = K.total, bt = K.btotal;
		if (K.negate) {
			var x = v;
			v = b;
			b = x;
			x = t;
			t = bt;
			bt = x;
		}
		var per = K.ns > 0 && t > 0 ? K.ns / t : 1, bper = K.bs > 0 && bt > 0 ? K.bs / bt : 1;
		var c = {before: bt > 0 ? b / bt : 0, after: t > 0 ? v / t : 0, significant: false};
		c.delta = c.after - c.before;
		if (t > 0 && bt > 0) {
			var n1 = bt * bper + 2, n2 = t * per + 2, p1 = (b * bper + 1) / n1, p2 = (v * per + 1) / n2;
			c.margin = 1.959963984540054 * Math.sqrt((p1 * (1 - p1)) / n1 + (p2 * (1 - p2)) / n2);
			c.significant = Math.abs(p2 - p1) > c.margin;
		}
		return c;
	}

	/* A source path without the build machine's prefixes: the toolchain's
	 * /rustc/<hash>/ and cargo's registry directories. */
	function shortPath(f) {
		return f.replace(/^\/rustc\/[0-9a-f]+\//, '').replace(/^.*\/\.cargo\/registry\/src\/[^/]+\//, '');
	}

	function plural(n, one, many) {
		return n.toLocaleString('en-US') + ' ' + (n === 1 ? one : many);
	}

	/* The hover text: numbers first (so a long name never hides them), then
	 * the function, module and file:line. */
	function describe(i) {
		var name = S[fv(i, NAME)], v = fv(i, VALUE), o = fv(i, ORIGIN);
		if (o === MERGED)
			return fmtValue(v) + ', ' + pct(v, K.total) + ' \u2014 ' + name +
			       ' (too narrow to draw, merged: click to open, or draw with --focus or a smaller --min-width)';
		var s = fmtValue(v) + ', ' + pct(v, K.total), self = fv(i, SELF);
		if (self > 0 && self !== v) s += ' (self ' + pct(self, K.total) + ')';
		if (zoomed >= 0 && zoomed !== i) s += ', ' + pct(v, fv(zoomed, VALUE)) + ' of the zoomed frame';
		if (K.diff) {
			var c = change(i);
			s += '; base ' + (c.before * 100).toFixed(2) + '% \u2192 new ' + (c.after * 100).toFixed(2) + '%: ' +
			     points(c.delta * 100) + (c.delta === 0 ? '' : c.significant ? ' (significant at 95%)'
			                                                               : ' (not significant at 95%)');
		}
		var mod = S[fv(i, MOD)], file = S[fv(i, FILE)], line = fv(i, LINE);
		s += ' \u2014 ' + name;
		if (o >= INLINED) s += ' [inlined]';
		if (LANG[o % INLINED]) s += ' (' + LANG[o % INLINED] + ')';
		if (mod) s += ' in ' + mod;
		if (file) s += ' at ' + shortPath(file) + (line ? ':' + line : '');
		return s;
	}

	/* Where the last "::" segment of a name starts (outside <...>), or -1. */
	function lastSegment(cps) {
		var depth = 0, at = -1;
		for (var k = 0; k + 1 < cps.length; k++) {
			var c = cps[k];
			if (c === '<' || c === '(' || c === '[') depth++;
			else if ((c === '>' || c === ')' || c === ']') && depth > 0) depth--;
			else if (c === ':' && cps[k + 1] === ':' && depth === 0) {
				at = k;
				k++;
			}
		}
		return at;
	}

	/* Shortens a name to what fits in w pixels: elided in the middle so the
	 * last path segment stays ("<cpu::So…::score"); nothing under 4
	 * characters, as one letter and an ellipsis tell nobody anything.
	 * The same rule as add_label() in flame_svg.c. */
	function fit(name, w) {
		var chars = Math.floor((w - 6) / K.cw);
		var cps = Array.from(name);
		if (cps.length <= chars) return chars >= 1 ? name : '';
		if (chars < 4) return '';
		var at = lastSegment(cps);
		if (at > 0) {
			var tail = cps.length - at;
			if (tail + 3 <= chars) return cps.slice(0, chars - 1 - tail).join('') + '\u2026' + cps.slice(at).join('');
			return cps.slice(at + 2, at + 1 + chars).join('') + '\u2026';
		}
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

	/* The details line cut to the width left beside "Matched": its numbers
	 * come first, so only the end of a long path is lost. */
	function elide(text) {
		var m = matchedEl.textContent.trim();
		var chars = Math.floor((K.w - 2 * K.xpad) / K.cw) - (m ? m.length + 2 : 0);
		var cps = Array.from(text);
		if (cps.length <= chars) return text;
		return chars > 1 ? cps.slice(0, chars - 1).join('') + '\u2026' : '';
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
		searchEl.classList.remove('hide');
		for (var i = 0; i < frames.length; i++) frames[i].kilnIndex = i;
		var box = document.getElementById('frames');
		box.addEventListener('mouseover', function (e) {
			var i = indexOf(e.target);
			if (i < 0) return;
			var text = describe(i);
			details.textContent = elide(text);
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
