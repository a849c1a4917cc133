/* test_prometheus.c - the Prometheus text format writer (render/prometheus):
 * HELP and TYPE lines, labels escaped, numbers as Prometheus parses them. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "render/prometheus.h"

static void test_family(void **state)
{
	(void)state;
	struct strbuf sb = STRBUF_INIT;
	prometheus_family(&sb, "kiln_serve_samples_total", "counter", "CPU samples\nkept \\ here");
	const char *labels[] = {"pid", "42", "comm", "a\"b\\c\nd"};
	prometheus_sample(&sb, "kiln_serve_samples_total", labels, 2, 17);
	prometheus_sample(&sb, "kiln_serve_cpu_seconds_total", NULL, 0, 1.5);
	prometheus_sample(&sb, "x", NULL, 0, NAN);
	prometheus_sample(&sb, "y", NULL, 0, 1e20);
	assert_string_equal(strbuf_str(&sb), "# HELP kiln_serve_samples_total CPU samples\\nkept \\\\ here\n"
	                                     "# TYPE kiln_serve_samples_total counter\n"
	                                     "kiln_serve_samples_total{pid=\"42\",comm=\"a\\\"b\\\\c\\nd\"} 17\n"
	                                     "kiln_serve_cpu_seconds_total 1.5\n"
	                                     "x NaN\n"
	                                     "y 1e+20\n");
	strbuf_release(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_family),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
