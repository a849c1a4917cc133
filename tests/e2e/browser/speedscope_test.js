// speedscope_test.js - opens a kiln speedscope export in speedscope itself
// (its npm release, served with the profile from a loopback HTTP server on
// a port the system picks) in Debian's headless Chromium, as a user would:
// index.html#profileURL=..., then checks what is on screen. speedscope
// draws its flame views on a canvas, so the checks read its DOM: the title
// and the toolbar's profile name, and the Sandwich view's table of
// functions, whose rows give each function's self and total share.
//
// speedscope also imports the Trace Event Format: a Chrome trace export is
// checked the same way (its lanes are speedscope's profiles).
//
// usage: node speedscope_test.js FILE.json TITLE PROFILE HOT LO HI [+ FILE.json ...]
//   TITLE     the document title speedscope shows (the export's name)
//   PROFILE   text of the profile speedscope opens first ("worker-3 1234"),
//             or ">TEXT": one speedscope goes to with its key n
//   HOT       the hot function's name, its self share (%) within LO..HI
// Prints "ok: ..." / "FAIL: ..." lines; exits 1 on any failure, 77 when
// Chromium or speedscope is missing here.
'use strict';

const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');

let chromium;
try {
	chromium = require('playwright-core').chromium;
} catch (e) {
	console.log('SKIPPED: playwright-core is not installed (run make deps)');
	process.exit(77);
}
const release = path.join(__dirname, 'node_modules', 'speedscope', 'dist', 'release');
if (!fs.existsSync(path.join(release, 'index.html'))) {
	console.log('SKIPPED: speedscope is not installed (run make deps)');
	process.exit(77);
}

let failures = 0;
let label = ''; /* the export being checked, "thr.trace.json: " */
let current = null; /* its path, served at /NAME */
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

const types = {'.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json',
               '.wasm': 'application/wasm', '.png': 'image/png', '.ico': 'image/x-icon', '.woff2': 'font/woff2',
               '.txt': 'text/plain'};

// Serves speedscope's release files and, at /NAME, the export being
// checked (NAME its file name, which speedscope shows for a trace).
function serve() {
	const server = http.createServer((req, res) => {
		const name = decodeURIComponent(new URL(req.url, 'http://x').pathname);
		const mine = current && name === '/' + path.basename(current);
		const file = mine ? current : path.join(release, path.normalize(name));
		if (!mine && !file.startsWith(release + path.sep)) {
			res.writeHead(403).end();
			return;
		}
		fs.readFile(file, (err, data) => {
			if (err) {
				res.writeHead(404).end();
				return;
			}
			res.writeHead(200, {'Content-Type': types[path.extname(file)] || 'application/octet-stream'});
			res.end(data);
		});
	});
	return new Promise((resolve, reject) => {
		server.on('error', reject);
		server.listen(0, '127.0.0.1', () => resolve(server)); // port 0: the system picks a free one
	});
}

// The Sandwich table's rows as {self, total, name}, read from its text.
async function sandwichRows(page) {
	return page.evaluate(() => {
		const out = [];
		for (const tr of document.querySelectorAll('table tr')) {
			const cells = [...tr.querySelectorAll('td')].map((td) => td.innerText.trim());
			if (cells.length >= 3) out.push(cells);
		}
		return out;
	});
}

// A duration cell's time in ms ("294.59ms (100%)", "1.20s (40%)"), NaN for
// other units.
function durationMs(cell) {
	const m = /^([0-9.]+)\s*(ns|µs|us|ms|s)\b/.exec(cell || '');
	return m ? parseFloat(m[1]) * {ns: 1e-6, 'µs': 1e-3, us: 1e-3, ms: 1, s: 1e3}[m[2]] : NaN;
}

// One export in a new page: loaded, the profile named, HOT's share.
async function runGroup(context, base, [file, title, profile, hot, lo, hi]) {
	current = path.resolve(file);
	const page = await context.newPage();
	const errors = [];
	page.on('pageerror', (e) => errors.push(String(e.message)));
	page.on('dialog', (d) => {
		errors.push('dialog: ' + d.message());
		d.dismiss();
	});
	const url = base + '/' + encodeURIComponent(path.basename(current));
	await page.goto(`${base}/index.html#profileURL=${encodeURIComponent(url)}`);
	// loaded: speedscope names the page after the profile
	try {
		await page.waitForFunction((t) => document.title.startsWith(t), title, {timeout: 30000});
		ok(`speedscope loaded the export: title '${await page.title()}'`);
	} catch (e) {
		fail(`speedscope did not load the export: title '${await page.title()}', errors: ${errors.join('; ')}`);
	}
	let body = await page.evaluate(() => document.body.innerText);
	if (profile.startsWith('>')) {
		// go to it: speedscope's key n opens the next profile (thread)
		const want = profile.slice(1);
		for (let i = 0; i < 64 && !body.includes(want); i++) {
			const before = body;
			await page.keyboard.press('n');
			try {
				await page.waitForFunction((b) => document.body.innerText !== b, before, {timeout: 5000});
			} catch (e) {
				break; /* the last profile: n does nothing */
			}
			body = await page.evaluate(() => document.body.innerText);
		}
		check(body.includes(want), `the profile '${want}' is there (key n)`);
	} else {
		check(body.includes(profile), `the toolbar names the profile it opens first: '${profile}'`);
	}
	check(!/Something went wrong|Unrecognized format/i.test(body), 'no import error on screen');
	// the Sandwich view (its key is 3): a table of functions, in the DOM;
	// a Chrome trace's names carry their args ("f {\"file\":...}")
	const named = (cell, h) => cell === h || cell.startsWith(h + ' {');
	await page.keyboard.press('3');
	try {
		await page.waitForFunction((h) => [...document.querySelectorAll('table td')].some((td) => {
			const c = td.innerText.trim();
			return c === h || c.startsWith(h + ' {');
		}), hot, {timeout: 15000});
	} catch (e) {
		/* reported below */
	}
	const rows = await sandwichRows(page);
	const row = rows.find((r) => named(r[r.length - 1], hot));
	check(row, `the Sandwich table lists ${hot} (${rows.length} rows)`);
	const busy = Math.max(0, ...rows.map((r) => durationMs(r[0])).filter((v) => isFinite(v)));
	const self = row ? durationMs(row[1]) : NaN;
	if (row && lo === '-') {
		/* no share asked for this export */
	} else if (row && busy > 0 && isFinite(self)) {
		// the share of the thread's busy time: speedscope's own percentages
		// of a trace are of its whole span, idle gaps included (a loaded
		// machine gives a thread half its wall time), so the outermost
		// frame's total is the whole, as kiln report's samples are
		const share = (100 * self) / busy;
		check(share >= parseFloat(lo) && share <= parseFloat(hi),
		      `${hot}'s self time on screen ${self.toFixed(2)} ms of the thread's busy ${busy.toFixed(2)} ms ` +
		          `(${share.toFixed(1)}%) within ${lo}..${hi}% (row: ${row.join(' | ')})`);
	} else if (row) {
		// cells: "TOTAL (P%)", "SELF (P%)", name; P may be ">99" or "<0.01":
		// the share on screen is then a range, which must meet LO..HI
		const m = /\(([<>]?)([0-9.]+)%\)/.exec(row[1]);
		const v = m ? parseFloat(m[2]) : NaN;
		const [from, to] = !m ? [NaN, NaN] : m[1] === '>' ? [v, 100] : m[1] === '<' ? [0, v] : [v, v];
		check(from <= parseFloat(hi) && to >= parseFloat(lo),
		      `${hot}'s self share on screen ${m ? m[1] + v : '?'}% within ${lo}..${hi}% (row: ${row.join(' | ')})`);
	}
	check(errors.length === 0, `no script errors (${errors.join('; ')})`);
	await page.close();
}

async function main() {
	// groups "FILE TITLE PROFILE HOT LO HI" separated by "+", one browser for all
	const groups = [[]];
	for (const arg of process.argv.slice(2)) {
		if (arg === '+') groups.push([]);
		else groups[groups.length - 1].push(arg);
	}
	if (groups.some((g) => g.length !== 6)) {
		console.log('usage: node speedscope_test.js FILE.json TITLE PROFILE HOT LO HI [+ FILE.json ...]');
		process.exit(2);
	}
	const server = await serve();
	const base = `http://127.0.0.1:${server.address().port}`;
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-speedscope-'));
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
		server.close();
		fs.rmSync(dir, {recursive: true, force: true});
		process.exit(77);
	}
	for (const g of groups) {
		if (groups.length > 1) label = `${path.basename(g[0])}: `;
		await runGroup(context, base, g);
	}
	await context.close();
	server.close();
	fs.rmSync(dir, {recursive: true, force: true});
	process.exit(failures ? 1 : 0);
}

main();
