/* timeline_svg.c - lanes of threads over time, off-CPU intervals by reason. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/offcpu_reason.h"
#include "render/offcpu.h"
#include "render/units.h"
#include "render/timeline.h"
#include "util/hashmap.h"
#include "util/vec.h"
#include "util/xalloc.h"

#define LABEL_W    220
#define PLOT_W     1000
#define LANE_H     18
#define TOP        48
#define MAX_FRAMES 24 /* frames of a stack in its tooltip */

static const char *const reason_color[OFFCPU_NREASONS] = {
    "#9e9e9e", /* other */
    "#4f7fd9", /* sleep */
    "#d9534f", /* lock */
    "#8e6bd9", /* condvar */
    "#b36bb3", /* futex */
    "#3fa7a7", /* read */
    "#5fb0e0", /* poll */
    "#8b5a2b", /* io */
    "#f0ad4e", /* runnable */
};

/* Zoom and pan the plot's viewBox along x; the lanes' labels stay. */
static const char timeline_js[] =
    "(function(){var s=document.getElementById('plot');if(!s)return;"
    "var W=+s.getAttribute('data-w'),H=+s.getAttribute('data-h'),x=0,w=W,drag=null;"
    "function set(){s.setAttribute('viewBox',x+' 0 '+w+' '+H);}"
    "s.addEventListener('wheel',function(e){e.preventDefault();var r=s.getBoundingClientRect();"
    "var f=(e.clientX-r.left)/r.width,at=x+f*w,k=e.deltaY<0?0.8:1.25;w=Math.min(W,Math.max(W/1e6,w*k));"
    "x=Math.min(W-w,Math.max(0,at-f*w));set();},{passive:false});"
    "s.addEventListener('mousedown',function(e){drag={cx:e.clientX,x:x};});"
    "window.addEventListener('mouseup',function(){drag=null;});"
    "window.addEventListener('mousemove',function(e){if(!drag)return;var r=s.getBoundingClientRect();"
    "x=Math.min(W-w,Math.max(0,drag.x-(e.clientX-drag.cx)*w/r.width));set();});"
    "s.addEventListener('dblclick',function(){x=0;w=W;set();});})();";

static void add_xml(struct strbuf *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			strbuf_addstr(out, "&amp;");
			break;
		case '<':
			strbuf_addstr(out, "&lt;");
			break;
		case '>':
			strbuf_addstr(out, "&gt;");
			break;
		case '"':
			strbuf_addstr(out, "&quot;");
			break;
		default:
			strbuf_addch(out, (unsigned char)*s < 0x20 ? '?' : *s);
		}
	}
}

/* The stack, leaf first, as a tooltip's lines: its innermost MAX_FRAMES. */
static void add_stack_title(struct strbuf *out, const struct profile *p, uint32_t stack)
{
	struct profile_frame *f = NULL;
	size_t n = stack ? profile_stack_frames(p, stack, &f) : 0;
	if (!n)
		strbuf_addstr(out, "\n(no stack)");
	for (size_t i = 0; i < n && i < MAX_FRAMES; i++) {
		strbuf_addch(out, '\n');
		add_xml(out, profile_str(p, f[n - 1 - i].function));
	}
	if (n > MAX_FRAMES)
		strbuf_addstr(out, "\n...");
	free(f);
}

struct lane {
	uint32_t tid;
	uint32_t name;
	const char *pool; /* NULL: not in a pool */
};

typedef VEC(struct lane) lane_vec;

/* The pools' workers first, pool by pool, then every other thread. */
static void lane_order(const struct profile *p, const struct pools *ps, struct hashmap *lane_of, lane_vec *lanes)
{
	for (size_t i = 0; ps && i < ps->v.n; i++)
		for (size_t w = 0; w < ps->v.v[i].workers.n; w++) {
			const struct pool_worker *pw = &ps->v.v[i].workers.v[w];
			hashmap_put(lane_of, pw->tid, lanes->n);
			vec_push(lanes, ((struct lane){pw->tid, pw->name, ps->v.v[i].name}));
		}
	for (size_t i = 0; i < p->threads.n; i++) {
		const struct profile_thread *t = &p->threads.v[i];
		if (hashmap_get(lane_of, t->tid, NULL))
			continue;
		hashmap_put(lane_of, t->tid, lanes->n);
		vec_push(lanes, ((struct lane){t->tid, t->name, NULL}));
	}
}

int render_timeline_svg(struct strbuf *out, const struct profile *p, const struct pools *ps)
{
	struct offcpu_values ov;
	offcpu_values_find(p, &ov);
	if (ov.offcpu < 0)
		return -ENOENT;
	uint64_t t0 = profile_get_meta_u64(p, "start_ns", 0), t1 = profile_get_meta_u64(p, "end_ns", 0);
	for (size_t i = 0; i < p->samples.n; i++) {
		const struct profile_sample *s = &p->samples.v[i];
		uint64_t len = (uint64_t)(s->values[ov.offcpu] > 0 ? s->values[ov.offcpu] : 0) +
		               (uint64_t)(ov.runnable >= 0 && s->values[ov.runnable] > 0 ? s->values[ov.runnable] : 0);
		if (!t0 || s->time < t0)
			t0 = s->time;
		if (s->time + len > t1)
			t1 = s->time + len;
	}
	if (t1 <= t0)
		t1 = t0 + 1;
	double scale = (double)PLOT_W / (double)(t1 - t0); /* px per ns */
	struct hashmap lane_of;
	struct hashmap reasons; /* stack -> its offcpu_reason, told once */
	hashmap_init(&lane_of);
	hashmap_init(&reasons);
	lane_vec ls = {0};
	lane_order(p, ps, &lane_of, &ls);
	/* the samples of each lane, in sample order (a counting sort) */
	size_t nl = ls.n;
	size_t *first = xcalloc(nl + 1, sizeof(size_t)), *order = xcalloc(p->samples.n + 1, sizeof(size_t));
	uint32_t *lane_at = xcalloc(p->samples.n + 1, sizeof(uint32_t));
	for (size_t i = 0; i < p->samples.n; i++) {
		uint64_t l = 0;
		hashmap_get(&lane_of, p->samples.v[i].tid, &l);
		lane_at[i] = (uint32_t)l;
		first[l + 1]++;
	}
	for (size_t l = 0; l < nl; l++)
		first[l + 1] += first[l];
	size_t *fill = xcalloc(nl + 1, sizeof(size_t));
	for (size_t i = 0; i < p->samples.n; i++)
		order[first[lane_at[i]] + fill[lane_at[i]]++] = i;
	free(fill);
	free(lane_at);
	int h = TOP + (int)ls.n * LANE_H + 40;

	strbuf_addf(out,
	            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
	            "font-family=\"sans-serif\" font-size=\"11\">\n"
	            "<style>.off:hover{stroke:#000;stroke-width:0.5}</style>\n"
	            "<text x=\"4\" y=\"16\" font-size=\"14\">kiln timeline: ",
	            LABEL_W + PLOT_W + 10, h);
	add_xml(out, profile_get_meta(p, "command") ? profile_get_meta(p, "command") : "");
	strbuf_addstr(out, " (");
	render_duration(out, t1 - t0);
	strbuf_addstr(out, "; wheel zooms, drag pans, double click resets; hover for stacks)</text>\n");
	/* legend */
	strbuf_addf(out, "<g transform=\"translate(4,30)\"><rect width=\"10\" height=\"10\" fill=\"#cde8c4\"/>"
	                 "<text x=\"13\" y=\"9\">on a cpu (or no event)</text>");
	for (int r = 0; r < OFFCPU_NREASONS; r++)
		strbuf_addf(out,
		            "<rect x=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/><text x=\"%d\" y=\"9\">%s</text>",
		            150 + r * 80, reason_color[r], 163 + r * 80, offcpu_reason_name((enum offcpu_reason)r));
	strbuf_addstr(out, "</g>\n");
	/* lane labels */
	const char *last_pool = NULL;
	for (size_t l = 0; l < ls.n; l++) {
		const struct lane *ln = &ls.v[l];
		int y = TOP + (int)l * LANE_H;
		strbuf_addf(out, "<text x=\"4\" y=\"%d\">", y + 13);
		if (ln->pool && ln->pool != last_pool) {
			strbuf_addstr(out, "[");
			add_xml(out, ln->pool);
			strbuf_addstr(out, "] ");
		}
		last_pool = ln->pool;
		add_xml(out, profile_str(p, ln->name));
		strbuf_addf(out, " %" PRIu32 "</text>\n", ln->tid);
	}
	strbuf_addf(out,
	            "<svg id=\"plot\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
	            "preserveAspectRatio=\"none\" data-w=\"%d\" data-h=\"%d\">\n",
	            LABEL_W, TOP, PLOT_W, (int)ls.n * LANE_H, PLOT_W, (int)ls.n * LANE_H, PLOT_W, (int)ls.n * LANE_H);
	/* per lane: its life as the background, then its off-CPU intervals */
	for (size_t l = 0; l < ls.n; l++) {
		const struct lane *ln = &ls.v[l];
		const struct profile_thread *t = profile_find_thread(p, ln->tid);
		uint64_t a = t && t->start > t0 ? t->start : t0, b = t && t->end && t->end < t1 ? t->end : t1;
		int y = (int)l * LANE_H;
		strbuf_addf(out, "<g class=\"lane\" data-tid=\"%" PRIu32 "\" data-name=\"", ln->tid);
		add_xml(out, profile_str(p, ln->name));
		strbuf_addf(out, "\"><rect x=\"%.3f\" y=\"%d\" width=\"%.3f\" height=\"%d\" fill=\"#cde8c4\"/>\n",
		            (double)(a - t0) * scale, y + 2, b > a ? (double)(b - a) * scale : 0.0, LANE_H - 4);
		for (size_t k = first[l]; k < first[l + 1]; k++) {
			const struct profile_sample *s = &p->samples.v[order[k]];
			int64_t blocked = s->values[ov.offcpu];
			int64_t runnable = ov.runnable >= 0 ? s->values[ov.runnable] : 0;
			if (blocked <= 0 && runnable <= 0)
				continue;
			uint64_t ns = (uint64_t)(blocked > 0 ? blocked : runnable);
			enum offcpu_reason r =
			    blocked > 0 ? offcpu_reason_cached(p, s->stack, &reasons) : OFFCPU_REASON_RUNNABLE;
			double x = (double)(s->time - t0) * scale, w = (double)ns * scale;
			strbuf_addf(out,
			            "<rect class=\"off\" x=\"%.4f\" y=\"%d\" width=\"%.4f\" height=\"%d\" fill=\"%s\" "
			            "data-reason=\"%s\" data-ns=\"%" PRIu64 "\"><title>",
			            x, y + 2, w < 0.05 ? 0.05 : w, LANE_H - 4, reason_color[r], offcpu_reason_name(r),
			            ns);
			add_xml(out, profile_str(p, ln->name));
			strbuf_addf(out, " %" PRIu32 ": %s ", ln->tid, offcpu_reason_name(r));
			render_duration(out, ns);
			strbuf_addstr(out, " at +");
			render_duration(out, s->time - t0);
			add_stack_title(out, p, s->stack);
			strbuf_addstr(out, "</title></rect>\n");
		}
		strbuf_addstr(out, "</g>\n");
	}
	strbuf_addstr(out, "</svg>\n<script><![CDATA[");
	strbuf_addstr(out, timeline_js);
	strbuf_addstr(out, "]]></script>\n</svg>\n");
	free(first);
	free(order);
	vec_free(&ls);
	hashmap_release(&lane_of);
	hashmap_release(&reasons);
	return 0;
}
