// chrome_trace_test.js - opens a kiln Chrome trace export in a real Trace
// Event viewer that needs no network: the Performance panel of the DevTools
// built into Debian's Chromium (devtools://devtools/bundled/trace_app.html,
// the standalone trace viewer; chrome://tracing is gone from Chromium 156).
// The file goes in through the panel's "Load profile" file input, as a user
// loads it. The flame chart is drawn on a canvas, so the checks read what
// it draws from its data provider: the tracks of the process and of a
// thread ("top-worker (TID)"), and the slices of functions in the thread's
// track with their share of its time.
//
// usage: node chrome_trace_test.js FILE.json PROCESS TRACK FUNCTION:LO:HI [FUNCTION:LO:HI...]
//   PROCESS   the process track's name ("top_target (PID)")
//   TRACK     a thread track's name ("top-worker (TID)")
//   FUNCTION  a function with slices in TRACK that cover LO..HI percent of
//             the time of the track's outermost slices
// Prints "ok: ..." / "FAIL: ..." lines; exits 1 on any failure, 77 when
// Chromium or playwright-core is missing here.
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
function ok(msg) {
	console.log('ok: ' + msg);
}
function fail(msg) {
	console.log('FAIL: ' + msg);
	failures++;
}
function check(cond, msg) {
	if (cond) ok(msg);
	else fail(msg);
}

// What the Performance panel's flame chart shows, from its data provider:
// the tracks (groups) and, per track, the time of its outermost slices and
// of the slices of each function in funcs. null while no trace is shown.
function flameChartShows(funcs) {
	/* runs in the DevTools page, once run() has put the panel's module in window.kilnTimeline */
	const T = window.kilnTimeline;
	const panel = T && T.TimelinePanel.TimelinePanel.instance();
	const dp = panel && panel.flameChart && panel.flameChart.mainDataProvider;
	const td = dp && dp.timelineData();
	if (!td || !td.groups || !td.groups.length)
		return null;
	const groups = td.groups.map((g, i) => ({
		name: g.name,
		from: g.startLevel,
		to: i + 1 < td.groups.length ? td.groups[i + 1].startLevel : Infinity,
		rootMs: 0,
		ms: Object.fromEntries(funcs.map((f) => [f, 0])),
		slices: Object.fromEntries(funcs.map((f) => [f, 0])),
	}));
	for (let e = 0; e < td.entryLevels.length; e++) {
		const level = td.entryLevels[e];
		const g = groups.find((x) => level >= x.from && level < x.to);
		if (!g)
			continue;
		if (level === g.from)
			g.rootMs += td.entryTotalTimes[e];
		const title = dp.entryTitle(e);
		if (title in g.ms) {
			g.ms[title] += td.entryTotalTimes[e];
			g.slices[title]++;
		}
	}
	return groups.map(({name, rootMs, ms, slices}) => ({name, rootMs, ms, slices}));
}

async function run(context, file, processName, track, funcs) {
	const page = await context.newPage();
	const errors = [];
	page.on('pageerror', (e) => errors.push(String(e.message)));
	await page.goto('devtools://devtools/bundled/trace_app.html');
	// without a page to debug it says "Debugging connection was closed" in a
	// dialog over the panels: close it, then open the Performance panel
	const tab = page.getByRole('tab', {name: 'Performance'});
	await tab.waitFor({timeout: 30000});
	const input = page.locator('input[type=file]');
	for (let i = 0; i < 50 && !(await input.count()); i++) {
		await page.keyboard.press('Escape');
		await tab.click({timeout: 2000}).catch(() => {});
	}
	if (!(await input.count())) {
		fail(`the Performance panel has no file input to load a trace; errors: ${errors.join('; ')}`);
		return;
	}
	// the panel's module, for flameChartShows()
	await page.evaluate(async () => {
		window.kilnTimeline = await import('./panels/timeline/timeline.js');
	});
	await input.first().setInputFiles(file);
	// polled from here: DevTools' policy forbids the eval waitForFunction needs
	let shown = null;
	let why = 'nothing shown after 60 s';
	const names = funcs.map((f) => f[0]);
	for (let i = 0; i < 300 && !shown; i++) {
		try {
			shown = await page.evaluate(flameChartShows, names);
		} catch (e) {
			why = String(e.message).split('\n')[0];
			break;
		}
		if (!shown)
			await page.waitForTimeout(200);
	}
	if (!shown) {
		fail(`DevTools did not show the trace: ${why}; errors: ${errors.join('; ')}`);
		return;
	}
	ok(`DevTools' Performance panel loaded the trace: tracks ${JSON.stringify(shown.map((g) => g.name))}`);
	check(shown.some((g) => g.name === processName), `a track of the process, named '${processName}'`);
	const g = shown.find((x) => x.name === track);
	if (!g) {
		fail(`no track of the thread named '${track}'`);
	} else {
		ok(`a track of the thread, named '${track}'`);
		// shares of the functions' own time together: the thread's other
		// time (start-up frames, the kernel's on a loaded machine) is
		// time-weighted in a trace and counted in samples by report
		const both = funcs.reduce((sum, f) => sum + (g.ms[f[0]] || 0), 0);
		for (const [name, lo, hi] of funcs) {
			check(g.slices[name] > 0, `'${track}' has ${g.slices[name]} slices of ${name}`);
			const pct = both > 0 ? (100 * g.ms[name]) / both : NaN;
			check(pct >= lo && pct <= hi,
			      `${name} covers ${pct.toFixed(1)}% of the fixture functions' time on '${track}' ` +
			          `(${g.ms[name].toFixed(1)} of ${both.toFixed(1)} ms; the thread's slices: ` +
			          `${g.rootMs.toFixed(1)} ms), expected ${lo}..${hi}`);
		}
	}
	check(!errors.length, `no errors in the page${errors.length ? ': ' + errors.join('; ') : ''}`);
	await page.close();
}

async function main() {
	const args = process.argv.slice(2);
	if (args.length < 4) {
		console.log('usage: node chrome_trace_test.js FILE.json PROCESS TRACK FUNCTION:LO:HI [FUNCTION:LO:HI...]');
		process.exit(2);
	}
	const [file, processName, track] = args;
	const funcs = args.slice(3).map((a) => {
		const m = /^(.*):([0-9.]+):([0-9.]+)$/.exec(a);
		if (!m) {
			console.log(`bad function '${a}': give NAME:LO:HI`);
			process.exit(2);
		}
		return [m[1], parseFloat(m[2]), parseFloat(m[3])];
	});
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-chrome-trace-'));
	let context;
	try {
		context = await chromium.launchPersistentContext(dir, {
			executablePath: '/usr/bin/chromium',
			headless: true,
			args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			       '--disable-background-networking', '--disable-component-update', '--disable-sync'],
			viewport: {width: 1400, height: 900},
		});
	} catch (e) {
		console.log('SKIPPED: chromium does not start here: ' + String(e.message).split('\n')[0]);
		fs.rmSync(dir, {recursive: true, force: true});
		process.exit(77);
	}
	try {
		await run(context, path.resolve(file), processName, track, funcs);
	} finally {
		await context.close();
		fs.rmSync(dir, {recursive: true, force: true});
	}
	process.exit(failures ? 1 : 0);
}

main().catch((e) => {
	console.log('FAIL: ' + String(e && e.stack ? e.stack : e));
	process.exit(1);
});
