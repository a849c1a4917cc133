/* prometheus.h - Prometheus text exposition format (version 0.0.4): metric
 * families with their HELP and TYPE lines, samples with escaped labels.
 * kiln serve's /metrics is written with it.
 */
#ifndef KILN_RENDER_PROMETHEUS_H
#define KILN_RENDER_PROMETHEUS_H

#include <stddef.h>

#include "util/strbuf.h"

#define PROMETHEUS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Starts a family: "# HELP name help" and "# TYPE name type" (type:
 * "counter", "gauge"). Write its samples right after. */
void prometheus_family(struct strbuf *out, const char *name, const char *type, const char *help);
/* One sample of the family name: labels are n (key, value) pairs, values
 * escaped as the format wants (backslash, quote, newline). */
void prometheus_sample(struct strbuf *out, const char *name, const char *const *labels, size_t n, double value);

#endif
