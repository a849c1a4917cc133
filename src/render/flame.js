/* flame.js - the interactive part of kiln's flame graph SVG (embedded at
 * build time). The frames are drawn by kiln as static shapes; K (written
 * before this script) holds their data: K.F is a flat array of K.stride
 * numbers per frame, in the order of the <g> elements of #frames:
 *   name, depth, start, value, self, module, file, line, origin[, base]
 * where name, module and file index the string table K.S. This script adds
 * tooltips, click-to-zoom with a reset, regular-expression search with a
 * case toggle, keyboard use (Tab, arrows, Enter, Escape), opens boxes of
 * small frames from K.H, and keeps search, zoom and the opened boxes in
 * the address. window.kiln exposes zoom/unzoom/search/
 * resetSearch/setIgnoreCase for tests and users. */
(function () {
	'use strict';
	var NAME = 0, DEPTH = 1, START = 2, VALUE = 3, SELF = 4, MOD = 5, FILE = 6, LINE = 7, ORIGIN = 8, BASE = 9;
	var SAMPLES = 9, LANE = 10; /* timed flame charts (K.time): START and VALUE are ns */
	/* the origin codes of flame_tree.h, as the hover names them */
	var LANG = ['', 'Rust, yours', 'Rust std', 'C', 'kernel', '', 'Rust crate', 'C++', 'Go', 'Java', 'Python'];
	var MERGED = 99, INLINED = 128, SVGNS = 'http://www.w3.org/2000/svg';
	var F = K.F, S = K.S, st = K.stride, n = Math.floor(F.length / st);
	var frames, details, matchedEl, unzoomEl, searchEl, caseEl;
	var zoomed = -1, searching = null, lastPattern = '', ignoreCase = false, focused = -1, ready = false;
	var opened = []; /* the boxes opened, in order (kept in the address) */

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

	/* A time in ns as people read it: "1.234 s", "12.5 ms". */
	function fmtTime(t) {
		if (t >= 1e9) return (t / 1e9).toFixed(3) + ' s';
		if (t >= 1e6) return (t / 1e6).toFixed(t >= 1e8 ? 0 : 1) + ' ms';
		if (t >= 1e3) return (t / 1e3).toFixed(1) + ' \u00b5s';
		return Math.round(t) + ' ns';
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
	 * sampling noise: the interval (Agresti-Caffo) of the difference of the
	 * two shares, from the samples they stand for, K.zcrit standard errors
	 * wide (95% corrected for every frame tested: Benjamini-Hochberg); the
	 * same expression as flame_diff.c, so both draw the same. */
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
			var se = Math.sqrt((p1 * (1 - p1)) / n1 + (p2 * (1 - p2)) / n2);
			c.margin = 1.959963984540054 * se;
			c.significant = Math.abs(p2 - p1) > K.zcrit * se;
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
		if (o === MERGED && K.time)
			return fmtValue(fv(i, SAMPLES)) + ', ' + pct(fv(i, SAMPLES), K.total) + ' at ' + fmtTime(fv(i, START)) +
			       ' for ' + fmtTime(v) + ' \u2014 ' + name + ' (too short to draw, merged: click to zoom in)';
		if (o === MERGED)
			return fmtValue(v) + ', ' + pct(v, K.total) + ' \u2014 ' + name +
			       (boxF[i] ? ' (merged: click to open)'
			                : ' (merged, too many to keep in the file: draw them with --focus or a smaller --min-width)');
		var when = '';
		if (K.time) { /* the share is of samples; where and how long it ran is time */
			when = ' at ' + fmtTime(fv(i, START)) + ' for ' + fmtTime(v);
			v = fv(i, SAMPLES);
		}
		var s = fmtValue(v) + ', ' + pct(v, K.total) + when, self = fv(i, SELF);
		if (self > 0 && self !== v) s += ' (self ' + pct(self, K.total) + ')';
		if (zoomed >= 0 && zoomed !== i) s += ', ' + pct(v, fv(zoomed, VALUE)) + ' of the zoomed frame';
		if (K.diff) {
			var c = change(i);
			s += '; base ' + (c.before * 100).toFixed(2) + '% \u2192 new ' + (c.after * 100).toFixed(2) + '%: ' +
			     points(c.delta * 100) + (c.delta === 0 ? '' : c.significant ? ' (significant at 95%, Benjamini-Hochberg)'
			                                                               : ' (not significant at 95%, Benjamini-Hochberg)');
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
		if (g.kilnOpened) {
			g.style.display = 'none'; /* its frames are drawn instead */
			return;
		}
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
		if (K.time) return zoomTime(i);
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
		changed();
	}

	/* A timed chart zooms into the time a frame ran: every lane shows that
	 * range, frames cut at its edges, the axis relabelled. */
	function zoomTime(i) {
		var zs = fv(i, START), ze = zs + fv(i, VALUE);
		showRange(zs, ze);
		zoomed = i;
		unzoomEl.classList.remove('hide');
		changed();
	}

	function showRange(zs, ze) {
		var width = K.w - 2 * K.xpad, scale = ze > zs ? width / (ze - zs) : 0;
		for (var j = 0; j < n; j++) {
			var s = Math.max(fv(j, START), zs), e = Math.min(fv(j, START) + fv(j, VALUE), ze);
			if (e > s || (e === s && fv(j, VALUE) === 0 && s >= zs && s < ze))
				place(j, K.xpad + (s - zs) * scale, (e - s) * scale, false);
			else frames[j].style.display = 'none';
		}
		drawAxis(zs, ze);
	}

	/* The time axis for [t0, t1): ticks at 1, 2 or 5 times a power of ten,
	 * about one per 100 px, as flame_svg.c draws it. */
	function drawAxis(t0, t1) {
		var g = document.getElementById('axis');
		if (!g) return;
		while (g.firstChild) g.removeChild(g.firstChild);
		var width = K.w - 2 * K.xpad, range = t1 - t0, want = range / Math.max(width / 100, 1), step = 1;
		while (step * 10 <= want) step *= 10;
		step = want > step * 5 ? step * 10 : want > step * 2 ? step * 5 : want > step ? step * 2 : step;
		var unit = step >= 1e8 ? [1e9, ' s'] : step >= 1e5 ? [1e6, ' ms'] : step >= 1e2 ? [1e3, ' \u00b5s'] : [1, ' ns'];
		for (var at = Math.ceil(t0 / step) * step; at <= t1 + step / 1e6; at += step) {
			var x = K.xpad + ((at - t0) * width) / (range || 1), line = document.createElementNS(SVGNS, 'line');
			line.setAttribute('x1', x.toFixed(1));
			line.setAttribute('x2', x.toFixed(1));
			line.setAttribute('y1', K.axisy - 4);
			line.setAttribute('y2', K.axisy + 4 + K.fh + K.lanesh);
			var label = document.createElementNS(SVGNS, 'text');
			var last = x > K.w - K.xpad - 50; /* the last label ends at its tick, inside */
			label.setAttribute('x', (last ? x - 2 : x + 2).toFixed(1));
			if (last) label.setAttribute('text-anchor', 'end');
			label.setAttribute('y', K.axisy - 6);
			label.textContent = at === 0 ? '0' : parseFloat((at / unit[0]).toPrecision(12)) + unit[1];
			g.appendChild(line);
			g.appendChild(label);
		}
	}

	function unzoom() {
		if (K.time) {
			showRange(0, K.span);
			zoomed = -1;
			unzoomEl.classList.add('hide');
			changed();
			return;
		}
		var width = K.w - 2 * K.xpad, scale = K.total > 0 ? width / K.total : 0;
		for (var j = 0; j < n; j++) place(j, K.xpad + fv(j, START) * scale, fv(j, VALUE) * scale, false);
		zoomed = -1;
		unzoomEl.classList.add('hide');
		changed();
	}

	/* Highlights frames whose name matches the regular expression and shows
	 * the share they cover (nested matches counted once): of the total, or
	 * of the zoomed frame when zoomed, counting only what is inside it. */
	function search(pattern) {
		var re;
		try {
			re = new RegExp(pattern, ignoreCase ? 'i' : '');
		} catch (e) {
			matchedEl.textContent = 'bad regular expression: ' + e.message;
			return -1;
		}
		var zs = 0, ze = Infinity, zd = 0, whole = K.total;
		if (zoomed >= 0) {
			zs = fv(zoomed, START);
			ze = zs + fv(zoomed, VALUE);
			zd = fv(zoomed, DEPTH);
			whole = fv(zoomed, VALUE);
		}
		if (K.time) { /* a time range: its samples, in every lane */
			zd = 0;
			whole = zoomed >= 0 ? fv(zoomed, SAMPLES) : K.total;
		}
		var spans = [];
		for (var i = 0; i < n; i++) {
			var hit = fv(i, ORIGIN) !== MERGED && re.test(S[fv(i, NAME)]);
			frames[i].classList.toggle('match', hit);
			var s = fv(i, START), e = s + fv(i, VALUE);
			/* lanes are apart: a timed chart's matches nest only in their own */
			var off = K.time ? fv(i, LANE) * (K.span + 1) : 0;
			if (hit && fv(i, DEPTH) >= zd && s >= zs && e <= ze) spans.push([off + s, off + e, K.time ? fv(i, SAMPLES) : 0]);
		}
		spans.sort(function (a, b) {
			return a[0] - b[0] || b[1] - a[1];
		});
		var covered = 0, end = -Infinity;
		for (var k = 0; k < spans.length; k++) {
			var a = Math.max(spans[k][0], end), b = spans[k][1];
			if (K.time) {
				if (spans[k][0] >= end) covered += spans[k][2]; /* outermost: its samples hold the nested ones' */
			} else if (b > a) covered += b - a;
			if (b > end) end = b;
		}
		var share = whole > 0 ? (100 * covered) / whole : 0;
		searching = pattern;
		lastPattern = pattern;
		matchedEl.textContent = 'Matched: ' + share.toFixed(2) + '%' + (zoomed >= 0 ? ' of the zoomed frame' : '') +
		                        ' (' + spans.length + (spans.length === 1 ? ' frame)' : ' frames)');
		searchEl.textContent = 'Reset Search';
		saveState();
		return share;
	}

	function resetSearch() {
		for (var i = 0; i < n; i++) frames[i].classList.remove('match');
		searching = null;
		matchedEl.textContent = ' ';
		searchEl.textContent = 'Search';
		saveState();
	}

	/* The zoom changed: a search counts what is in view again. */
	function changed() {
		if (searching !== null) search(searching);
		else saveState();
	}

	function setIgnoreCase(on) {
		ignoreCase = !!on;
		caseEl.textContent = ignoreCase ? 'case: any' : 'case: exact';
		if (searching !== null) search(searching);
		else saveState();
	}

	/* Keeps the search, its case and the zoom in the address (?s=..&i=1&f=..),
	 * so that a reload or a shared link shows the same view. A file:// page
	 * may refuse a new query; the fragment then holds it. */
	function saveState() {
		if (!ready) return;
		var q = [];
		if (searching !== null) q.push('s=' + encodeURIComponent(searching));
		if (ignoreCase) q.push('i=1');
		if (opened.length) q.push('o=' + opened.join('.'));
		if (zoomed >= 0) q.push('f=' + zoomed);
		var qs = q.join('&'), loc = window.location;
		try {
			window.history.replaceState(null, '', loc.pathname + (qs ? '?' + qs : ''));
		} catch (e) {
			try {
				window.history.replaceState(null, '', loc.pathname + loc.search + (qs ? '#' + qs : ''));
			} catch (e2) {
				/* a viewer that keeps no address: the view is not kept */
			}
		}
	}

	function loadState() {
		var text = (window.location.search || '').replace(/^\?/, '') + '&' + (window.location.hash || '').replace(/^#/, '');
		var st = {};
		text.split('&').forEach(function (kv) {
			var at = kv.indexOf('=');
			if (at > 0) st[kv.slice(0, at)] = decodeURIComponent(kv.slice(at + 1));
		});
		if (st.i === '1') setIgnoreCase(true);
		/* the boxes opened, in the order they were: their frames get the
		 * same numbers again, so f finds its frame among them */
		(st.o || '').split('.').forEach(function (b) {
			var i = parseInt(b, 10);
			if (i >= 0 && i < n) openBox(i);
		});
		var f = parseInt(st.f, 10);
		if (f > 0 && f < n) zoom(f);
		if (st.s) search(st.s);
	}

	function promptSearch() {
		var p = window.prompt('Search frames (regular expression' + (ignoreCase ? ', any case' : '') + '):',
		                      lastPattern);
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

	/* The boxes whose frames K.H keeps: frame index (in F, or the ordinal
	 * in K.H of a box inside a box) -> [where they start in K.H, how many,
	 * the ordinal of the first]. */
	var boxF = {}, boxH = {};
	for (var b = 0; K.M && b + 4 < K.M.length; b += 5) (K.M[b] ? boxH : boxF)[K.M[b + 1]] = [K.M[b + 2], K.M[b + 3], K.M[b + 4]];

	/* K.H's numbers: base 32, lowest digits first; the first 32 characters
	 * below end a number, the others carry on (flame_svg.c writes them). */
	var DIGITS = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_.', DIGIT = [];
	for (var d = 0; d < DIGITS.length; d++) DIGIT[DIGITS.charCodeAt(d)] = d;

	/* Reads K.H's frames from at: an array of K.stride numbers per frame,
	 * with its starts and depths from box frame i's. */
	function readBox(i, at, count) {
		var H = K.H, pos = at, out = [], end = [fv(i, START)], bd = fv(i, DEPTH);
		function num() {
			var v = 0, mul = 1;
			for (;;) {
				var x = DIGIT[H.charCodeAt(pos++)];
				if (x < 32) return v + x * mul;
				v += (x - 32) * mul;
				mul *= 32;
			}
		}
		for (var k = 0; k < count; k++) {
			var name = num(), rel = num(), gap = num(), value = num(), kids = num(), code = num();
			var src = code % 2, mod = src ? num() : 0, file = src ? num() : 0, line = src ? num() : 0;
			var start = end[rel] + gap;
			end[rel] = start + value;
			end[rel + 1] = start;
			out.push(name, bd + rel, start, value, value - kids, mod, file, line, (code - src) / 2);
			if (K.diff) out.push(num());
		}
		return out;
	}

	/* FNV-1a of the UTF-8 bytes of a name, as flame_svg.c hashes it. */
	function fnv(name) {
		var b = new TextEncoder().encode(name), h = 2166136261;
		for (var k = 0; k < b.length; k++) h = Math.imul(h ^ b[k], 16777619) >>> 0;
		return h;
	}

	/* The colour flame_svg.c gives a frame (palette_color(), diff_color()),
	 * for the frames of an opened box, as [r, g, b]. */
	function colorOf(i) {
		var o = fv(i, ORIGIN) % INLINED, name = S[fv(i, NAME)];
		if (o === MERGED) return [200, 200, 200];
		if (K.diff) {
			var c = change(i);
			if (!c.significant || c.delta === 0) return [228, 228, 224];
			var x = K.maxdelta > 0 ? Math.abs(c.delta) / K.maxdelta : 1;
			x = Math.max(0.2, Math.min(1, x));
			var fade = Math.round(235 - 190 * x);
			return c.delta > 0 ? [255, fade, fade] : [fade, fade, 255];
		}
		var h = fnv(name), v1 = (h & 0xff) / 255, v2 = ((h >>> 8) & 0xff) / 255, v3 = ((h >>> 16) & 0xff) / 255;
		var f = Math.floor;
		if (o === 5) return [f(190 + 30 * v1), f(170 + 30 * v1), f(225 + 25 * v2)]; /* a thread */
		if (K.palette === 1) return [f(205 + 50 * v3), f(230 * v1), f(55 * v2)];
		if (K.palette === 2) return [0, f(190 + 50 * v2), f(210 * v1)];
		if (K.palette === 3) return [f(80 + 60 * v1), f(80 + 60 * v1), f(190 + 55 * v2)];
		/* base, then the spread of v1, v2, v3 per origin code */
		var lang = {1: [235, 20, 110, 60, 30, 40], 2: [215, 30, 200, 35, 90, 50], 6: [200, 25, 160, 30, 110, 30],
		            3: [90, 60, 185, 45, 90, 50], 7: [60, 40, 180, 35, 175, 35], 8: [230, 25, 150, 35, 190, 30],
		            9: [185, 30, 215, 30, 70, 40], 10: [170, 30, 135, 30, 230, 25], 4: [110, 50, 150, 50, 225, 30]}[o];
		if (!lang) return [f(170 + 30 * v1), f(170 + 30 * v1), f(170 + 30 * v1)];
		return [f(lang[0] + lang[1] * v1), f(lang[2] + lang[3] * v2), f(lang[4] + lang[5] * v3)];
	}

	function hex(c) {
		return '#' + c.map(function (x) {
			return ('0' + x.toString(16)).slice(-2);
		}).join('');
	}

	function rowY(d) {
		return K.icicle ? K.ptop + d * K.fh : K.h - K.pbot - (d + 1) * K.fh;
	}

	/* Makes the canvas taller by rows frames: in a flame graph the frames
	 * grow up, so everything under the header moves down; in an icicle
	 * only what is under the frames. */
	function grow(rows) {
		var dy = rows * K.fh, from = K.icicle ? K.h - K.pbot : K.ptop, root = document.documentElement;
		var all = root.querySelectorAll('[y], [y1]');
		for (var k = 0; k < all.length; k++) {
			var el = all[k];
			['y', 'y1', 'y2'].forEach(function (a) {
				var v = el.getAttribute(a);
				if (v !== null && v.indexOf('%') < 0 && parseFloat(v) >= from)
					el.setAttribute(a, (parseFloat(v) + dy).toFixed(1));
			});
		}
		K.h += dy;
		K.depth += rows;
		root.setAttribute('height', K.h);
		root.setAttribute('viewBox', '0 0 ' + K.w + ' ' + K.h);
	}

	/* Opens merged box i: the frames it stands for, kept in K.H, become
	 * frames of the graph (boxes in it can be opened in turn) and the box
	 * goes; the caller zooms into its place. Returns the first new frame,
	 * or -1 when the file kept nothing for it (too big: the hover says
	 * how to draw it). */
	function openBox(i) {
		var at = boxF[i], first = n;
		if (!at) return -1;
		delete boxF[i];
		var data = readBox(i, at[0], at[1]), count = at[1];
		var box = document.getElementById('frames'), deepest = 0, k;
		for (k = 0; k < count; k++) deepest = Math.max(deepest, data[k * st + DEPTH]);
		if (deepest > K.depth) grow(deepest - K.depth);
		for (k = 0; k < data.length; k++) F.push(data[k]);
		for (k = 0; k < count; k++) {
			var g = document.createElementNS(SVGNS, 'g'), r = document.createElementNS(SVGNS, 'rect');
			r.setAttribute('y', rowY(fv(n, DEPTH)).toFixed(1));
			r.setAttribute('height', K.fh - 1);
			r.setAttribute('fill', hex(colorOf(n)));
			var title = document.createElementNS(SVGNS, 'title');
			title.textContent = S[fv(n, NAME)];
			g.appendChild(r);
			g.appendChild(title);
			g.kilnIndex = n;
			g.setAttribute('tabindex', '-1');
			box.appendChild(g);
			if (boxH[at[2] + k]) boxF[n] = boxH[at[2] + k];
			n++;
		}
		frames[i].kilnOpened = true;
		opened.push(i);
		return first;
	}

	function indexOf(target) {
		var g = target && target.closest ? target.closest('#frames > g') : null;
		return g ? g.kilnIndex : -1;
	}

	function shown(j) {
		return frames[j].style.display !== 'none';
	}

	function xOf(j) {
		return parseFloat(frames[j].querySelector('rect').getAttribute('x'));
	}

	/* The frame the arrow key leads to from i: up and down go to the
	 * widest child or the parent (as drawn: an icicle grows down), left
	 * and right to the nearest frame drawn beside it; -1 when none. */
	function neighbour(i, key) {
		var d = fv(i, DEPTH), s = fv(i, START), v = fv(i, VALUE), best = -1, j;
		var up = key === 'ArrowUp', down = key === 'ArrowDown';
		if (up || down) {
			var child = up !== !!K.icicle;
			for (j = 0; j < n; j++) {
				if (!shown(j) || (K.time && d > 0 && fv(j, DEPTH) > 0 && fv(j, LANE) !== fv(i, LANE))) continue;
				var sj = fv(j, START), vj = fv(j, VALUE), dj = fv(j, DEPTH);
				if (child && dj === d + 1 && sj >= s && sj + vj <= s + v && (best < 0 || vj > fv(best, VALUE))) best = j;
				if (!child && dj === d - 1 && sj <= s && sj + vj >= s + v) best = j;
			}
			return best;
		}
		var x = xOf(i), right = key === 'ArrowRight', bx = 0;
		for (j = 0; j < n; j++) {
			if (j === i || !shown(j) || fv(j, DEPTH) !== d) continue;
			if (K.time && d > 1 && fv(j, LANE) !== fv(i, LANE)) continue;
			var xj = xOf(j);
			if (right ? xj > x && (best < 0 || xj < bx) : xj < x && (best < 0 || xj > bx)) {
				best = j;
				bx = xj;
			}
		}
		return best;
	}

	/* Moves the keyboard focus to frame i (one frame is in the tab order). */
	function focusFrame(i) {
		if (i < 0 || i >= n) return;
		if (focused >= 0 && focused < n) frames[focused].setAttribute('tabindex', '-1');
		focused = i;
		frames[i].setAttribute('tabindex', '0');
		frames[i].focus();
	}

	function showDetails(i) {
		var text = describe(i);
		details.textContent = elide(text);
		var g = frames[i], t = g.querySelector('title');
		if (!t) {
			t = document.createElementNS(SVGNS, 'title');
			g.insertBefore(t, g.firstChild);
		}
		t.textContent = text;
	}

	/* Enter and Space work the controls, as a click does. */
	function control(el, fn) {
		el.addEventListener('click', fn);
		el.addEventListener('keydown', function (e) {
			if (e.key === 'Enter' || e.key === ' ') {
				e.preventDefault();
				fn();
			}
		});
	}

	function init() {
		frames = document.getElementById('frames').children;
		details = document.getElementById('details');
		matchedEl = document.getElementById('matched');
		unzoomEl = document.getElementById('unzoom');
		searchEl = document.getElementById('search');
		caseEl = document.getElementById('case');
		searchEl.classList.remove('hide');
		caseEl.classList.remove('hide');
		for (var i = 0; i < frames.length; i++) frames[i].kilnIndex = i;
		if (n) {
			frames[0].setAttribute('tabindex', '0');
			focused = 0;
		}
		var box = document.getElementById('frames');
		box.setAttribute('tabindex', '-1'); /* its listeners would put it in the tab order */
		box.addEventListener('mouseover', function (e) {
			var i = indexOf(e.target);
			if (i >= 0) showDetails(i);
		});
		box.addEventListener('mouseout', function () {
			details.textContent = ' ';
		});
		box.addEventListener('focusin', function (e) {
			var i = indexOf(e.target);
			if (i >= 0) showDetails(i);
		});
		box.addEventListener('click', function (e) {
			var i = indexOf(e.target);
			if (i >= 0) {
				openBox(i);
				zoom(i);
			}
		});
		box.addEventListener('keydown', function (e) {
			var i = indexOf(e.target);
			if (i < 0) return;
			if (e.key === 'Enter' || e.key === ' ') {
				e.preventDefault();
				var opened = openBox(i);
				zoom(i);
				focusFrame(opened >= 0 ? opened : i);
			} else if (/^Arrow(Up|Down|Left|Right)$/.test(e.key)) {
				e.preventDefault();
				var j = neighbour(i, e.key);
				if (j >= 0) focusFrame(j);
			}
		});
		control(unzoomEl, unzoom);
		control(searchEl, function () {
			if (searching !== null) resetSearch();
			else promptSearch();
		});
		control(caseEl, function () {
			setIgnoreCase(!ignoreCase);
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
		loadState();
		ready = true;
		saveState();
	}

	window.kiln = {
		zoom: zoom,
		unzoom: unzoom,
		search: search,
		resetSearch: resetSearch,
		setIgnoreCase: setIgnoreCase,
		describe: describe,
		openBox: openBox,
		get count() {
			return n;
		},
		frame: function (i) {
			return {name: S[fv(i, NAME)], depth: fv(i, DEPTH), start: fv(i, START), value: fv(i, VALUE)};
		},
		zoomed: function () {
			return zoomed;
		},
		focused: function () {
			return focused;
		}
	};
	if (document.readyState === 'loading') window.addEventListener('DOMContentLoaded', init);
	else init();
})();
