// flame_test.js - opens kiln flame graph SVGs from disk (file://) in Debian's
// headless Chromium and checks what a user sees: the frames and their widths,
// hover details, click to zoom and reset, Ctrl-F search with the matched share,
// and the colours of a differential graph.
//
// usage: node flame_test.js graph FILE.svg LEAF_A LEAF_B ZOOM_FRAME
//        node flame_test.js diff  FILE.svg GREW SHRANK
//        node flame_test.js diffnoise FILE.svg
//        node flame_test.js hover FILE.svg NAME EXPECT
//        node flame_test.js lang FILE.svg NAME=LANGUAGE...
//        node flame_test.js keys FILE.svg ZOOM_FRAME LEAF_A LEAF_B
//        node flame_test.js static FILE.svg
//        node flame_test.js chart FILE.svg SLEEPER BUSY
//        node flame_test.js box FILE.svg BOX INNER ALL.svg
// Names are regular expressions matched against whole frame names. Prints
// "ok: ..." / "FAIL: ..." lines; exits 1 on any failure, 77 when Chromium
// cannot start here.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

let chromium;
try {
	chromium = require('playwright-core').chromium;
} catch (e) {
	console.log('SKIPPED: playwright-core is not installed (run make deps)');
	process.exit(77);
}

let failures = 0;
let staticContext = null;
let label = ''; /* the group being run, "keys rust.svg: " */
function ok(msg) {
	console.log('ok: ' + label + msg);
}
function fail(msg) {
	console.log('FAIL: ' + label + msg);
	failures++;
}
function check(cond, msg) {
	if (cond) ok(msg);
	else fail(msg);
}

// Frame geometry as the browser lays it out, by name.
async function framesNamed(page, pattern) {
	return page.evaluate((src) => {
		const re = new RegExp(src);
		const out = [];
		const gs = document.getElementById('frames').children;
		for (let i = 0; i < gs.length; i++) {
			const f = window.kiln.frame(i);
			if (!re.test(f.name)) continue;
			const r = gs[i].querySelector('rect');
			const box = r.getBoundingClientRect();
			out.push({
				i,
				name: f.name,
				value: f.value,
				width: box.width,
				x: box.x,
				visible: gs[i].style.display !== 'none' && box.width > 0,
				fill: r.getAttribute('fill'),
				computedFill: getComputedStyle(r).fill,
				matched: gs[i].classList.contains('match'),
			});
		}
		return out;
	}, pattern);
}

async function center(page, i) {
	return page.evaluate((i) => {
		const r = document.getElementById('frames').children[i].querySelector('rect').getBoundingClientRect();
		return {x: r.x + Math.min(r.width / 2, 20), y: r.y + r.height / 2};
	}, i);
}

function sum(frames) {
	return frames.reduce((a, f) => a + f.width, 0);
}

async function testGraph(page, leafA, leafB, zoomName) {
	const a = await framesNamed(page, leafA), b = await framesNamed(page, leafB);
	check(a.length > 0, `frame /${leafA}/ is drawn (${a.length})`);
	check(b.length > 0, `frame /${leafB}/ is drawn (${b.length})`);
	if (!a.length || !b.length) return;
	const ratio = sum(b) / sum(a);
	check(ratio > 1.5 && ratio < 2.6, `width of /${leafB}/ is about twice /${leafA}/: ${ratio.toFixed(2)}`);
	const count = await page.evaluate(() => window.kiln.count);
	const gs = await page.evaluate(() => document.getElementById('frames').children.length);
	check(count === gs && count > 3, `script data matches the drawn frames (${count} = ${gs})`);

	// hover: the details line and a tooltip
	const bc = await center(page, b[0].i);
	await page.mouse.move(bc.x, bc.y);
	const details = await page.textContent('#details');
	const named = details.split(' \u2014 ')[1] || '';
	check(/^[0-9,.]+ (samples?|ms|s|\u00b5s|ns)\b/.test(details) && details.includes('%') &&
	      new RegExp(leafB).test(named.split(' ')[0]),
	      `hover shows value and share first, then the name: "${details.slice(0, 120)}"`);

	// the longest name: its numbers still show, inside the canvas
	const longest = (await framesNamed(page, '.')).filter((f) => f.visible && f.width > 2)
		.sort((x, y) => y.name.length - x.name.length)[0];
	const lc = await center(page, longest.i);
	await page.mouse.move(lc.x, lc.y);
	const ld = await page.evaluate(() => {
		const d = document.getElementById('details'), b = d.getBBox();
		return {text: d.textContent, right: b.x + b.width, w: K.w};
	});
	check(/^[0-9,.]+ [a-z\u00b5]+, [0-9.]+%/.test(ld.text) && ld.right <= ld.w,
	      `the numbers lead the details of the longest name (${longest.name.length} chars) and it stays ` +
	      `inside (${ld.right.toFixed(0)} <= ${ld.w} px): "${ld.text.slice(0, 60)}"`);

	// click to zoom
	const z = await framesNamed(page, zoomName);
	check(z.length > 0, `frame /${zoomName}/ to zoom into is drawn`);
	if (z.length) {
		const zc = await center(page, z[0].i);
		const before = (await framesNamed(page, leafB))[0].width;
		await page.mouse.click(zc.x, zc.y);
		const zz = (await framesNamed(page, zoomName))[0];
		const full = await page.evaluate(() => window.kiln.zoomed());
		check(full === z[0].i, `click zooms into /${zoomName}/`);
		check(Math.abs(zz.width - 1180) < 2, `zoomed frame fills the width: ${zz.width.toFixed(1)} px`);
		const after = (await framesNamed(page, leafB))[0].width;
		check(after >= before, `children grow with the zoom: ${before.toFixed(1)} -> ${after.toFixed(1)} px`);
		const reset = await page.isVisible('#unzoom');
		check(reset, 'a Reset Zoom control appears');
		await page.click('#unzoom');
		const back = (await framesNamed(page, leafB))[0].width;
		check(Math.abs(back - before) < 0.5, `Reset Zoom restores the widths: ${back.toFixed(1)} px`);
		check(!(await page.isVisible('#unzoom')), 'the Reset Zoom control hides again');
	}

	// Ctrl-F opens the search prompt; matches are highlighted with their share
	page.once('dialog', (d) => d.accept(`${leafA}|${leafB}`));
	await page.keyboard.press('Control+f');
	await page.waitForFunction(() => /Matched/.test(document.getElementById('matched').textContent), null,
				   {timeout: 5000}).catch(() => {});
	const matched = await page.textContent('#matched');
	const m = /Matched: ([0-9.]+)%/.exec(matched);
	const total = await page.evaluate(() => K.total);
	const a2 = await framesNamed(page, leafA), b2 = await framesNamed(page, leafB);
	const expect = (100 * (a2.concat(b2).reduce((s, f) => s + f.value, 0))) / total;
	check(m && Math.abs(parseFloat(m[1]) - expect) < 0.05,
	      `search shows the matched share: "${matched}" (expected ${expect.toFixed(2)}%)`);
	check(a2.concat(b2).every((f) => f.matched && /rgb\(224, 32, 224\)/.test(f.computedFill)),
	      'matched frames are highlighted');
	const others = await framesNamed(page, '^all$');
	check(others.length === 1 && !others[0].matched, 'frames that do not match stay as they were');
	await page.click('#search'); // now "Reset Search"
	const cleared = await page.textContent('#matched');
	check(cleared.trim() === '', 'Reset Search clears the highlight');
}

async function testDiff(page, grew, shrank) {
	const g = await framesNamed(page, grew), s = await framesNamed(page, shrank);
	check(g.length > 0 && s.length > 0, `frames /${grew}/ and /${shrank}/ are drawn`);
	if (!g.length || !s.length) return;
	const rgb = (hex) => [1, 3, 5].map((k) => parseInt(hex.slice(k, k + 2), 16));
	const [gr, gg, gb] = rgb(g[0].fill), [sr, sg, sb] = rgb(s[0].fill);
	check(gr === 255 && gg < 200 && gb < 200, `/${grew}/ grew and is red: ${g[0].fill}`);
	check(sb === 255 && sr < 200 && sg < 200, `/${shrank}/ shrank and is blue: ${s[0].fill}`);
	const c = await center(page, g[0].i);
	await page.mouse.move(c.x, c.y);
	const details = await page.textContent('#details');
	check(/base [0-9.]+% \u2192 new [0-9.]+%: \+[0-9.]+ points \(significant at 95%, Benjamini-Hochberg\)/.test(details),
	      `hover shows the change in points, significant: "${details.slice(0, 110)}"`);
	const head = await page.evaluate(() => ['base', 'new'].map((id) => {
		const e = document.getElementById(id);
		return e ? e.textContent : '';
	}));
	check(/^BASE: .*samples/.test(head[0]) && /^NEW: .*samples/.test(head[1]),
	      `the header names BASE and NEW: "${head.join(' | ').slice(0, 120)}"`);
	check(await page.isVisible('text=not significant (95%, Benjamini-Hochberg)'),
	      'the legend shows the neutral colour and names the correction');
}

// Each NAME=LANGUAGE: the frame's hover names that language, and the
// legend has a key for it (with "unknown": no language in the hover).
async function testLang(page, pairs) {
	const legend = await page.evaluate(() => Array.from(document.querySelectorAll('text.key')).map((e) => e.textContent));
	for (const pair of pairs) {
		const at = pair.lastIndexOf('=');
		const name = pair.slice(0, at), lang = pair.slice(at + 1);
		const f = (await framesNamed(page, name))[0];
		if (!f) {
			fail(`frame /${name}/ is drawn`);
			continue;
		}
		const d = await page.evaluate((i) => window.kiln.describe(i), f.i);
		const said = (/ \(([^()]*)\)(?: in | at |$)/.exec(d.split(' \u2014 ')[1] || '') || [])[1] || 'unknown';
		check(said === lang, `/${name}/ is ${lang}: hover says "${said}"`);
	}
	ok(`legend: ${legend.join(', ')}`);
}

// Keyboard: Tab reaches the controls and the frames, the arrows walk the
// graph, Enter zooms, Escape resets. Then search (any case) and zoom are
// kept in the address and survive a reload; Matched counts the zoomed frame.
async function testKeys(page, zoomName, leafA, leafB) {
	const reached = [];
	for (let k = 0; k < 8; k++) {
		await page.keyboard.press('Tab');
		reached.push(await page.evaluate(() => {
			const a = document.activeElement;
			if (!a) return '';
			if (a.closest && a.closest('#frames')) return 'frame:' + window.kiln.frame(a.kilnIndex).name;
			return a.id || a.tagName;
		}));
		if (reached[reached.length - 1].startsWith('frame:')) break;
	}
	check(reached.includes('search') && reached.includes('case') && reached[reached.length - 1] === 'frame:all',
	      `Tab reaches Search, the case toggle and the root frame: ${reached.join(', ')}`);
	const re = new RegExp(zoomName);
	let name = 'all';
	for (let k = 0; k < 60 && !re.test(name); k++) {
		await page.keyboard.press('ArrowUp');
		name = await page.evaluate(() => window.kiln.frame(window.kiln.focused()).name);
	}
	check(re.test(name), `ArrowUp walks up the widest children to /${zoomName}/: ${name}`);
	await page.keyboard.press('Enter');
	const z = await page.evaluate(() => [window.kiln.zoomed(), window.kiln.focused()]);
	check(z[0] >= 0 && z[0] === z[1], `Enter zooms into the focused frame (${z[0]})`);
	const details = await page.textContent('#details');
	check((details.split(' \u2014 ')[1] || '').startsWith(name), `the focused frame's details show: "${details.slice(0, 80)}"`);
	await page.keyboard.press('ArrowUp');
	const child = await page.evaluate(() => window.kiln.frame(window.kiln.focused()).name);
	await page.keyboard.press('ArrowLeft');
	await page.keyboard.press('ArrowRight');
	const side = await page.evaluate(() => window.kiln.frame(window.kiln.focused()).name);
	check(new RegExp(leafB).test(child), `ArrowUp goes to the widest child: ${child}`);
	await page.keyboard.press('ArrowLeft');
	const left = await page.evaluate(() => window.kiln.frame(window.kiln.focused()).name);
	check(new RegExp(leafA).test(left) && side === child, `ArrowLeft and ArrowRight move between siblings: ${left}`);
	await page.keyboard.press('ArrowDown');
	const parent = await page.evaluate(() => window.kiln.frame(window.kiln.focused()).name);
	check(re.test(parent), `ArrowDown goes back to the parent: ${parent}`);
	await page.keyboard.press('Escape');
	check((await page.evaluate(() => window.kiln.zoomed())) === -1, 'Escape resets the zoom');

	// search in any case, zoomed: Matched is a share of the zoomed frame
	await page.click('#case');
	check((await page.textContent('#case')) === 'case: any', 'the case toggle switches to any case');
	const zi = (await framesNamed(page, zoomName))[0].i;
	await page.evaluate((i) => window.kiln.zoom(i), zi);
	const pattern = leafA.replace(/[$^]/g, '').toUpperCase();
	await page.evaluate((p) => window.kiln.search(p), pattern);
	const matched = await page.textContent('#matched');
	const expect = await page.evaluate(([a, z]) => {
		let v = 0;
		const re = new RegExp(a);
		for (let i = 0; i < window.kiln.count; i++) if (re.test(window.kiln.frame(i).name)) v += window.kiln.frame(i).value;
		return (100 * v) / window.kiln.frame(z).value;
	}, [leafA, zi]);
	const m = /Matched: ([0-9.]+)% of the zoomed frame/.exec(matched);
	check(m && Math.abs(parseFloat(m[1]) - expect) < 0.05,
	      `Matched counts the zoomed frame, in any case: "${matched}" (expected ${expect.toFixed(2)}%)`);
	await page.reload();
	await page.waitForFunction(() => window.kiln && window.kiln.zoomed() >= 0, null, {timeout: 5000}).catch(() => {});
	const after = await page.evaluate(() => [window.kiln.zoomed(), document.getElementById('matched').textContent,
	                                         document.getElementById('case').textContent, location.href]);
	check(after[0] === zi && after[1] === matched && after[2] === 'case: any',
	      `search and zoom survive a reload: zoomed ${after[0]}, "${after[1]}", ${after[2]} (${after[3].replace(/^.*\//, '')})`);
}

// Without script (as in an <img>): no controls show, every frame has a <title>.
async function testStatic(context, file) {
	const page = await context.newPage();
	await page.goto('file://' + path.resolve(file));
	const r = await page.evaluate(() => {
		const gs = document.getElementById('frames').children;
		let titled = 0;
		for (const g of gs) if (g.querySelector('title') && /: [0-9]+ /.test(g.querySelector('title').textContent)) titled++;
		return {n: gs.length, titled, search: getComputedStyle(document.getElementById('search')).display,
		        ran: !!window.kiln};
	});
	check(!r.ran, 'script is off');
	check(r.search === 'none', `"Search" does not show without script (display ${r.search})`);
	check(r.n > 3 && r.titled === r.n, `every frame has a <title> with its value (${r.titled} of ${r.n})`);
	await page.close();
}

// A flame chart of a thread that runs 100 ms, sleeps 300 ms and runs 100 ms
// beside one that runs all 500 ms: lanes on one time axis, the gap as long
// as the sleep, hover with the time, zoom to a time range.
async function testChart(page, sleeper, busy) {
	const a = (await framesNamed(page, sleeper)).sort((x, y) => x.x - y.x), b = await framesNamed(page, busy);
	check(a.length === 2 && b.length === 1, `/${sleeper}/ ran twice (${a.length}), /${busy}/ once (${b.length})`);
	if (a.length !== 2 || b.length !== 1) return;
	const axis = await page.evaluate(() => Array.from(document.querySelectorAll('#axis text')).map((t) => ({
		label: t.textContent, x: t.getBoundingClientRect().x - 2})));
	const tick = axis.find((t) => t.label === '400 ms');
	check(axis.length >= 5 && !!tick, `the time axis has ticks: ${axis.map((t) => t.label).join(', ')}`);
	const pxPerMs = b[0].width / 500;
	check(Math.abs(a[0].x - b[0].x) < 0.5, `both lanes start at the first sample (${a[0].x.toFixed(1)}, ${b[0].x.toFixed(1)})`);
	if (tick)
		check(Math.abs(a[1].x - tick.x) < 1.5,
		      `the second run starts under the 400 ms tick: ${a[1].x.toFixed(1)} vs ${tick.x.toFixed(1)} px`);
	const gap = (a[1].x - (a[0].x + a[0].width)) / pxPerMs;
	check(Math.abs(gap - 300) <= 1, `the gap is the 300 ms sleep: ${gap.toFixed(1)} ms`);
	const c = await center(page, a[1].i);
	await page.mouse.move(c.x, c.y);
	const d = await page.textContent('#details');
	check(/^100 samples, 14\.29% at 400 ms for 100 ms \u2014 work_a/.test(d), `hover says when and how long: "${d.slice(0, 70)}"`);
	await page.mouse.click(c.x, c.y);
	const z = await framesNamed(page, busy);
	const labels = await page.evaluate(() => Array.from(document.querySelectorAll('#axis text')).map((t) => t.textContent));
	check(Math.abs(z[0].width - 1180) < 1 && labels.includes('450 ms'),
	      `zoom shows that time range in every lane: /${busy}/ ${z[0].width.toFixed(1)} px, axis ${labels.join(', ')}`);
}

// The fill kiln gives each frame it draws, by name, from an SVG file.
function fillsIn(file) {
	const out = {};
	const re = /<g><rect [^>]*fill="(#[0-9a-f]{6})"\/>(?:<text[^>]*>[^<]*<\/text>)?<title>([^:<]*):/g;
	for (let m; (m = re.exec(fs.readFileSync(file, 'utf8'))) !== null;) out[m[2]] = m[1];
	return out;
}

// A "[N small frames]" box opens on a click: the frames it stands for are
// drawn from the data in the file, side by side, as wide as their share,
// in the colours kiln gives them when it draws them itself (ALL.svg); the
// opened box and the zoom survive a reload.
async function testBox(page, boxName, inner, allFile) {
	const box = (await framesNamed(page, boxName))[0];
	check(!!box, `a box /${boxName}/ is drawn`);
	if (!box) return;
	const before = await page.evaluate(() => window.kiln.count);
	const c = await center(page, box.i);
	await page.mouse.click(c.x, c.y);
	const after = await page.evaluate(() => window.kiln.count);
	const shown = (await framesNamed(page, inner)).filter((f) => f.visible);
	const gone = (await framesNamed(page, boxName)).filter((f) => f.visible && f.i === box.i);
	const total = shown.reduce((a, f) => a + f.width, 0);
	check(after > before && gone.length === 0, `the box opens: ${before} -> ${after} frames, the box hidden`);
	check(shown.length === 100 && Math.abs(total - 1180) < 2,
	      `its 100 frames are drawn and fill the zoomed width: ${shown.length}, ${total.toFixed(1)} px`);
	const f = shown[0], fc = await center(page, f.i);
	await page.mouse.move(fc.x, fc.y);
	const d = await page.textContent('#details');
	check(/^1 sample, 0\.10%, 1\.00% of the zoomed frame \u2014 f[0-9]+/.test(d), `an opened frame has its details: "${d.slice(0, 60)}"`);
	const want = fillsIn(allFile), wrong = shown.filter((x) => want[x.name] !== x.fill);
	check(Object.keys(want).length > 100 && wrong.length === 0,
	      `opened frames have kiln's colours: ${wrong.slice(0, 3).map((x) => x.name + ' ' + x.fill + ' vs ' + want[x.name]).join(', ')}`);
	check(/[?#&]o=[0-9]/.test(page.url()) && /[?#&]f=[0-9]/.test(page.url()), `the address keeps the opened box and the zoom: ${page.url().replace(/^.*\//, '')}`);
	await page.reload();
	await page.waitForFunction(() => window.kiln && document.getElementById('frames'), null, {timeout: 10000});
	const again = await page.evaluate(() => [window.kiln.count, window.kiln.zoomed()]);
	const reshown = (await framesNamed(page, inner)).filter((x) => x.visible);
	const retotal = reshown.reduce((a, x) => a + x.width, 0);
	check(again[0] === after && again[1] === box.i && reshown.length === 100 && Math.abs(retotal - 1180) < 2,
	      `after a reload the box is open and zoomed again: ${again[0]} frames, zoomed ${again[1]}, ${reshown.length} drawn over ${retotal.toFixed(1)} px`);
	await page.click('#unzoom');
	const back = (await framesNamed(page, inner)).filter((x) => x.visible);
	check(back.every((x) => x.width < 2), `Reset Zoom draws them at their own width (${back.length} frames)`);
}

// Hovering the first frame named NAME shows details matching EXPECT.
async function testHover(page, name, expect) {
	const f = (await framesNamed(page, name)).filter((x) => x.visible)[0];
	check(!!f, `frame /${name}/ is drawn`);
	if (!f) return;
	const c = await center(page, f.i);
	await page.mouse.move(c.x, c.y);
	const d = await page.textContent('#details');
	check(new RegExp(expect).test(d), `hover on /${name}/ matches /${expect}/: "${d.slice(0, 140)}"`);
}

// Noise only: no frame is coloured, and the hover says why.
async function testDiffNoise(page) {
	const all = await framesNamed(page, '.');
	const coloured = all.filter((f) => f.fill !== '#e4e4e0' && !/^\[[0-9]+ (small )?frames\]$/.test(f.name)); /* boxes are grey */
	check(all.length > 3 && coloured.length === 0,
	      `no frame of ${all.length} is coloured: ${coloured.map((f) => f.name + ' ' + f.fill).slice(0, 3).join(', ')}`);
	const texts = await page.evaluate(() => {
		const out = [];
		for (let i = 0; i < window.kiln.count; i++) out.push(window.kiln.describe(i));
		return out;
	});
	const bad = texts.filter((t) => /[-\u2212]0\.00|\(significant/.test(t));
	check(bad.length === 0, `no hover says significant or -0.00: ${bad.slice(0, 2).join(' | ')}`);
	const changed = texts.filter((t) => /not significant at 95%/.test(t));
	check(changed.length > 0, `hover says a change is not significant: "${(changed[0] || '').slice(0, 110)}"`);
}

// Runs one group: MODE FILE NAMES... in a new page of the context.
async function runGroup(context, dir, mode, file, names) {
	const page = await context.newPage();
	const errors = [];
	page.on('pageerror', (e) => errors.push(e.message));
	page.on('console', (m) => {
		if (m.type() === 'error') errors.push(m.text());
	});
	try {
		if (mode === 'static') {
			staticContext = staticContext || await chromium.launchPersistentContext(dir + '-nojs', {
				executablePath: '/usr/bin/chromium', headless: true, javaScriptEnabled: false,
				args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
			});
			await testStatic(staticContext, file);
		} else {
			await page.goto('file://' + path.resolve(file));
			await page.waitForFunction(() => window.kiln && document.getElementById('frames'), null, {timeout: 10000});
			if (mode === 'graph') await testGraph(page, names[0], names[1], names[2]);
			else if (mode === 'diff') await testDiff(page, names[0], names[1]);
			else if (mode === 'diffnoise') await testDiffNoise(page);
			else if (mode === 'hover') await testHover(page, names[0], names[1]);
			else if (mode === 'lang') await testLang(page, names);
			else if (mode === 'keys') await testKeys(page, names[0], names[1], names[2]);
			else if (mode === 'chart') await testChart(page, names[0], names[1]);
			else if (mode === 'box') await testBox(page, names[0], names[1], names[2]);
			else fail('unknown mode ' + mode);
		}
	} catch (e) {
		fail('exception: ' + e.stack);
	}
	check(errors.length === 0, 'no script errors' + (errors.length ? ': ' + errors.join('; ') : ''));
	await page.close();
}

async function main() {
	// groups "MODE FILE NAMES..." separated by "+", one browser for all
	const groups = [[]];
	for (const arg of process.argv.slice(2)) {
		if (arg === '+') groups.push([]);
		else groups[groups.length - 1].push(arg);
	}
	if (groups.some((g) => g.length < 2)) {
		console.log('usage: node flame_test.js MODE FILE.svg NAMES... [+ MODE FILE.svg NAMES...]');
		process.exit(2);
	}
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-chromium-'));
	let context;
	try {
		context = await chromium.launchPersistentContext(dir, {
			executablePath: '/usr/bin/chromium',
			headless: true,
			args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			       '--disable-background-networking', '--disable-component-update', '--disable-sync'],
			viewport: {width: 1300, height: 900},
		});
	} catch (e) {
		console.log('SKIPPED: chromium does not start here: ' + String(e.message).split('\n')[0]);
		fs.rmSync(dir, {recursive: true, force: true});
		process.exit(77);
	}
	for (const [mode, file, ...names] of groups) {
		if (groups.length > 1) label = `${mode} ${path.basename(file)}: `;
		await runGroup(context, dir, mode, file, names);
	}
	await context.close();
	if (staticContext) await staticContext.close();
	fs.rmSync(dir, {recursive: true, force: true});
	fs.rmSync(dir + '-nojs', {recursive: true, force: true});
	process.exit(failures ? 1 : 0);
}

main();
