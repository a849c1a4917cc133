/* serve_page.c - kiln serve's HTML front page (serve_page.h). */
#include "render/serve_page.h"

#include <inttypes.h>

static void add_html(struct strbuf *out, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<':
			strbuf_addstr(out, "&lt;");
			break;
		case '>':
			strbuf_addstr(out, "&gt;");
			break;
		case '&':
			strbuf_addstr(out, "&amp;");
			break;
		case '"':
			strbuf_addstr(out, "&quot;");
			break;
		case '\'':
			strbuf_addstr(out, "&#39;");
			break;
		default:
			strbuf_addch(out, *s);
		}
	}
}

void serve_page_render(struct strbuf *out, const struct serve_page_info *in)
{
	strbuf_addstr(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>kiln serve: ");
	add_html(out, in->host);
	strbuf_addstr(out, "</title>\n<style>body{font:14px sans-serif;margin:1em 2em}"
	                   "table{border-collapse:collapse}td,th{padding:2px 10px;text-align:right}"
	                   "td:nth-child(2),th:nth-child(2){text-align:left}object{width:100%;min-height:400px}"
	                   "</style></head><body>\n<h1>kiln serve on ");
	add_html(out, in->host);
	strbuf_addf(out,
	            "</h1>\n<p>Sampling at %" PRIu64 " Hz. %" PRIu64 " samples in the last %u s. %" PRIu64
	            " segments (%.1f MiB) in <code>",
	            in->hz, in->samples, in->seconds, in->segments, (double)in->segment_bytes / 1048576.0);
	add_html(out, in->dir);
	strbuf_addstr(out, "</code>.</p>\n<table><tr><th>pid</th><th>command</th><th>samples in window</th>"
	                   "<th>CPU seconds sampled</th></tr>\n");
	for (size_t i = 0; i < in->nprocs; i++) {
		const struct serve_page_process *p = &in->procs[i];
		strbuf_addf(out, "<tr><td>%" PRIu32 "</td><td>", p->pid);
		add_html(out, p->comm);
		strbuf_addf(out, "%s</td><td>%" PRIu64 "</td><td>%.2f</td></tr>\n", p->exited ? " (exited)" : "",
		            p->samples, p->cpu_seconds);
	}
	strbuf_addf(out,
	            "</table>\n<p><a href=\"/flame.svg?seconds=%u\">flame graph</a> \xc2\xb7 "
	            "<a href=\"/debug/pprof/profile?seconds=30\">pprof CPU profile (30 s)</a> \xc2\xb7 "
	            "<a href=\"/metrics\">metrics</a></p>\n"
	            "<object type=\"image/svg+xml\" data=\"/flame.svg?seconds=%u\">flame graph</object>\n"
	            "</body></html>\n",
	            in->seconds, in->seconds);
}
