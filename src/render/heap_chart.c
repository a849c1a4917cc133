/* heap_chart.c - heap size over time as a self-contained SVG (render/heap.h):
 * the total as an outline, the top sites by peak contribution stacked below
 * it, the peak marked. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "render/heap.h"
#include "util/xalloc.h"

#define W          1000
#define H          420
#define LEFT       80
#define RIGHT      20
#define TOP        40
#define PLOT_H     260
#define COLS       600 /* time buckets drawn */
#define MAX_LAYERS 6

static const char *const colors[MAX_LAYERS] = {"#e4572e", "#f3a712", "#29335c", "#669bbc", "#a8c686", "#8e7dbe"};

static void xml_text(struct strbuf *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '<')
			strbuf_addstr(out, "&lt;");
		else if (*s == '>')
			strbuf_addstr(out, "&gt;");
		else if (*s == '&')
			strbuf_addstr(out, "&amp;");
		else if (*s == '"')
			strbuf_addstr(out, "&quot;");
		else
			strbuf_addch(out, *s);
	}
}

void heap_render_chart(struct strbuf *out, const struct heap_analysis *h, const struct heap_render_opts *o)
{
	uint32_t top[MAX_LAYERS];
	uint32_t nt = heap_top_sites(h, HEAP_BY_PEAK, top, MAX_LAYERS);
	/* Time on the x axis, unless the run was too short for the agent's
	 * coarse clock (a few ms a tick): then allocation events. */
	bool by_event = heap_get_totals(h)->end_ns < 200000000ull;
	uint64_t tmax = by_event ? heap_get_totals(h)->events : heap_get_totals(h)->end_ns;
	if (!tmax)
		tmax = 1;
	uint64_t ymax = heap_get_totals(h)->peak_bytes > 0 ? heap_get_totals(h)->peak_bytes : 1;
	/* per bucket: the largest total, and the top sites' bytes at that moment */
	uint64_t *total = xcalloc(COLS, sizeof(*total));
	uint64_t *layer = xcalloc((size_t)COLS * MAX_LAYERS, sizeof(*layer));
	int64_t cur[MAX_LAYERS] = {0};
	/* the layer of each raw site: the top site (group or stack) it is in */
	size_t nv;
	const struct heap_site *view = heap_sites(h, &nv);
	size_t nraw = heap_raw_site_count(h), npoints;
	const struct heap_point *series = heap_series(h, &npoints);
	int8_t *which = xmalloc(nraw + 1); /* small enough to stay in cache */
	for (size_t i = 0; i < nraw; i++) {
		const struct heap_site *s = heap_raw_site(h, (uint32_t)i);
		uint32_t v = heap_site_view(h, (uint32_t)i);
		which[i] = -1;
		for (uint32_t k = 0; k < nt && s->allocs; k++)
			if (v == top[k])
				which[i] = (int8_t)k;
	}
	struct heap_delta_cursor dc = {0};
	struct heap_delta d;
	bool more = heap_delta_next(h, &dc, &d);
	for (size_t i = 0; i < npoints; i++) {
		for (; more && d.point <= i; more = heap_delta_next(h, &dc, &d)) {
			int k = d.site < nraw ? which[d.site] : -1;
			if (k >= 0) /* only the top sites' bytes are drawn */
				cur[k] = (int64_t)((uint64_t)cur[k] + (uint64_t)d.bytes); /* wraps, never traps */
		}
		uint64_t x = by_event ? series[i].ev : series[i].t;
		uint64_t col = x * (COLS - 1) / tmax;
		if (col >= COLS)
			col = COLS - 1;
		if (series[i].bytes >= total[col]) {
			total[col] = series[i].bytes;
			for (uint32_t k = 0; k < nt; k++)
				layer[col * MAX_LAYERS + k] = cur[k] > 0 ? (uint64_t)cur[k] : 0;
		}
	}
	/* carry values across empty buckets: the heap did not change there */
	for (size_t c = 1; c < COLS; c++)
		if (!total[c] && total[c - 1]) {
			bool empty = true;
			for (size_t i = 0; i < MAX_LAYERS; i++)
				empty &= !layer[c * MAX_LAYERS + i];
			if (empty) {
				total[c] = total[c - 1];
				memcpy(&layer[c * MAX_LAYERS], &layer[(c - 1) * MAX_LAYERS],
				       MAX_LAYERS * sizeof(*layer));
			}
		}
	double pw = W - LEFT - RIGHT;
#define X(c) (LEFT + pw * (double)(c) / (COLS - 1))
#define Y(b) (TOP + PLOT_H - PLOT_H * (double)(b) / (double)ymax)
	strbuf_addf(
	    out,
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
	    "height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n"
	    "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n<text x=\"%d\" y=\"22\" font-size=\"15\">heap "
	    "over time: ",
	    W, H, W, H, LEFT);
	xml_text(out, o->command ? o->command : "");
	strbuf_addstr(out, "</text>\n");
	/* stacked layers, bottom up */
	uint64_t *base = xcalloc(COLS, sizeof(*base));
	for (uint32_t k = 0; k < nt; k++) {
		strbuf_addf(out, "<path class=\"site\" fill=\"%s\" fill-opacity=\"0.85\" d=\"M%.1f %.1f", colors[k],
		            X(0), Y(0));
		for (size_t c = 0; c < COLS; c++)
			strbuf_addf(out, " L%.1f %.1f", X(c), Y(base[c] + layer[c * MAX_LAYERS + k]));
		for (size_t c = COLS; c-- > 0;)
			strbuf_addf(out, " L%.1f %.1f", X(c), Y(base[c]));
		strbuf_addstr(out, " Z\"><title>");
		struct strbuf label = STRBUF_INIT;
		heap_site_label(&label, heap_analysis_profile(h), heap_alloc_rule(h), view[top[k]].node);
		xml_text(out, strbuf_str(&label));
		strbuf_release(&label);
		strbuf_addstr(out, "</title></path>\n");
		for (size_t c = 0; c < COLS; c++)
			base[c] += layer[c * MAX_LAYERS + k];
	}
	strbuf_addf(out, "<path class=\"total\" fill=\"none\" stroke=\"#222\" stroke-width=\"1.5\" d=\"M%.1f %.1f",
	            X(0), Y(total[0]));
	for (size_t c = 1; c < COLS; c++)
		strbuf_addf(out, " L%.1f %.1f", X(c), Y(total[c]));
	strbuf_addstr(out, "\"><title>heap size</title></path>\n");
	/* axes */
	strbuf_addf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#000\"/>\n", LEFT, TOP + PLOT_H,
	            W - RIGHT, TOP + PLOT_H);
	strbuf_addf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#000\"/>\n", LEFT, TOP, LEFT,
	            TOP + PLOT_H);
	for (int i = 0; i <= 4; i++) {
		uint64_t b = ymax * (uint64_t)i / 4;
		strbuf_addf(out, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.2f MiB</text>\n", LEFT - 6, Y(b) + 4,
		            (double)b / 1048576.0);
		if (by_event)
			strbuf_addf(out, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"%s\">%" PRIu64 "%s</text>\n",
			            LEFT + pw * i / 4, TOP + PLOT_H + 16, i == 4 ? "end" : "middle",
			            tmax * (uint64_t)i / 4, i == 4 ? " allocation events" : "");
		else
			strbuf_addf(out, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.3f s</text>\n",
			            LEFT + pw * i / 4, TOP + PLOT_H + 16, (double)tmax * i / 4 / 1e9);
	}
	/* the peak */
	double px = LEFT + pw * (double)(by_event ? heap_get_totals(h)->peak_event : heap_get_totals(h)->peak_time) /
	                       (double)tmax;
	strbuf_addf(out,
	            "<line class=\"peak\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#c00\" "
	            "stroke-dasharray=\"4 3\"/>\n<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#c00\"/>\n"
	            "<text x=\"%.1f\" y=\"%d\" fill=\"#c00\">peak %" PRIu64 " bytes at %.3f s</text>\n",
	            px, TOP, px, TOP + PLOT_H, px, Y(heap_get_totals(h)->peak_bytes),
	            px + 6 > W - 260 ? px - 250 : px + 6, TOP + 12, heap_get_totals(h)->peak_bytes,
	            (double)heap_get_totals(h)->peak_time / 1e9);
	/* legend */
	for (uint32_t k = 0; k < nt; k++) {
		int y = TOP + PLOT_H + 36 + 16 * (int)k;
		strbuf_addf(out,
		            "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/><text x=\"%d\" y=\"%d\">",
		            LEFT, y - 9, colors[k], LEFT + 16, y);
		struct strbuf label = STRBUF_INIT;
		heap_site_label(&label, heap_analysis_profile(h), heap_alloc_rule(h), view[top[k]].node);
		strbuf_addf(&label, " (%" PRIu64 " bytes at peak)", view[top[k]].peak_bytes);
		xml_text(out, strbuf_str(&label));
		strbuf_release(&label);
		strbuf_addstr(out, "</text>\n");
	}
	strbuf_addstr(out, "</svg>\n");
#undef X
#undef Y
	free(base);
	free(which);
	free(total);
	free(layer);
}
