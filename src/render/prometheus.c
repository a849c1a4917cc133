/* prometheus.c - the Prometheus text format writer (prometheus.h). */
#include "render/prometheus.h"

#include <math.h>

static void add_escaped(struct strbuf *out, const char *s, int quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			strbuf_addstr(out, "\\\\");
		else if (*s == '\n')
			strbuf_addstr(out, "\\n");
		else if (*s == '"' && quote)
			strbuf_addstr(out, "\\\"");
		else
			strbuf_addch(out, *s);
	}
}

void prometheus_family(struct strbuf *out, const char *name, const char *type, const char *help)
{
	strbuf_addf(out, "# HELP %s ", name);
	add_escaped(out, help, 0);
	strbuf_addf(out, "\n# TYPE %s %s\n", name, type);
}

void prometheus_sample(struct strbuf *out, const char *name, const char *const *labels, size_t n, double value)
{
	strbuf_addstr(out, name);
	if (n) {
		strbuf_addch(out, '{');
		for (size_t i = 0; i < n; i++) {
			strbuf_addf(out, "%s%s=\"", i ? "," : "", labels[2 * i]);
			add_escaped(out, labels[2 * i + 1], 1);
			strbuf_addch(out, '"');
		}
		strbuf_addch(out, '}');
	}
	if (isnan(value))
		strbuf_addstr(out, " NaN\n");
	else if (value == floor(value) && fabs(value) < 1e15)
		strbuf_addf(out, " %.0f\n", value);
	else
		strbuf_addf(out, " %.9g\n", value);
}
