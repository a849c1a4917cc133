/* top.h - kiln top's screen: the window's data, the view the user chose,
 * and the two ways of drawing it (a live ncurses view, text snapshots).
 *
 * Both draw the same lines (top_lines_build()): the terminal view shows
 * one mode at a time with the selected row highlighted; a snapshot shows
 * the functions and then the threads. Keys change only the top_screen's
 * view fields (top_screen_key()); the data fields are the caller's, and
 * stay valid while a draw runs.
 */
#ifndef KILN_RENDER_TOP_H
#define KILN_RENDER_TOP_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analysis/hotspots.h"
#include "analysis/top_window.h"
#include "util/strbuf.h"
#include "util/vec.h"

enum top_mode {
	TOP_MODE_FUNCTIONS = 0,
	TOP_MODE_THREADS,
	TOP_MODE_CALLTREE,
};

struct top_status {
	const char *target; /* e.g. "pid 1234 (server)" */
	const char *event;  /* e.g. "cpu-clock" */
	uint64_t freq;      /* Hz; 0 with a period */
	uint64_t period;
	double window_s;      /* how much time the window's samples cover */
	double samples_per_s; /* over the last interval */
	uint64_t lost;        /* samples the kernel dropped in the last interval */
	uint64_t lost_total;
	bool kernel; /* kernel stacks are sampled */
};

struct top_screen {
	/* the data, the caller's: h built with HOTSPOTS_VALUE_SAMPLES over
	 * the window (NULL before the first one), tree for sel_name */
	const struct hotspots *h;
	const struct top_calltree *tree;
	const struct top_thread *threads;
	size_t nthreads;
	struct top_status st;

	/* the view, changed by keys */
	enum top_mode mode;
	enum hotspot_sort sort;        /* HOTSPOT_SORT_SELF or HOTSPOT_SORT_TOTAL */
	size_t selected;               /* row of the current list */
	size_t scroll;                 /* first row shown (terminal) */
	uint32_t sel_name, sel_module; /* the function of the call tree */
	bool paused;
	bool has_filter;
	regex_t filter; /* compiled filter_text, when has_filter */
	char filter_text[128];
	bool prompting; /* '/' typed: keys edit prompt */
	char prompt[128];
	size_t prompt_len;
	char message[160]; /* shown once at the bottom, then cleared */
};

/* An empty screen: the function view by self, no filter. */
void top_screen_init(struct top_screen *s);
void top_screen_release(struct top_screen *s);

/* Sets the filter to regex (extended, case-insensitive; "" clears it).
 * Returns 0, or the regcomp() error after putting its text in s->message. */
int top_screen_set_filter(struct top_screen *s, const char *regex);

/* The rows of mode (functions or threads) that pass the filter. */
size_t top_screen_nrows(const struct top_screen *s, enum top_mode mode);
/* The function at row of the function list, or NULL. */
const struct hotspot_func *top_screen_function(const struct top_screen *s, size_t row);

enum top_line_kind {
	TOP_LINE_TITLE,
	TOP_LINE_STATUS,
	TOP_LINE_HEADER,
	TOP_LINE_ROW,  /* a row of the list; top_line.row is its number */
	TOP_LINE_TEXT, /* anything else */
};

struct top_line {
	enum top_line_kind kind;
	size_t row;
	size_t off, len; /* in top_lines.text */
};

struct top_lines {
	struct strbuf text;
	VEC(struct top_line) v;
};

/* The lines of mode: title, status, column header and up to max_rows
 * rows (0: all) of the current list. l is reset first. */
void top_lines_build(struct top_lines *l, const struct top_screen *s, enum top_mode mode, size_t max_rows);
void top_lines_release(struct top_lines *l);

/* Keys beyond a byte, as the terminal view reports them. */
enum {
	TOP_KEY_UP = 0x100,
	TOP_KEY_DOWN,
	TOP_KEY_PGUP,
	TOP_KEY_PGDN,
	TOP_KEY_HOME,
	TOP_KEY_END,
	TOP_KEY_LEFT,
	TOP_KEY_RIGHT,
	TOP_KEY_ENTER,
	TOP_KEY_BACKSPACE,
	TOP_KEY_ESC,
	TOP_KEY_RESIZE,
};

enum top_action {
	TOP_ACTION_NONE = 0,
	TOP_ACTION_REDRAW,  /* the view changed: draw again */
	TOP_ACTION_REBUILD, /* the data the view needs changed (sort, call tree): rebuild, then draw */
	TOP_ACTION_QUIT,
};

/* Applies key to s's view; page is the number of rows a page moves. */
enum top_action top_screen_key(struct top_screen *s, int key, size_t page);

/* A snapshot as text: the functions (at most entries, 0: all), then the
 * threads. */
void render_top_text(struct strbuf *out, const struct top_screen *s, size_t entries);

/* The terminal view (ncursesw). */
struct top_tui;
/* Takes over the terminal; NULL when it cannot (no terminfo entry). */
struct top_tui *top_tui_open(void);
/* Gives the terminal back as it was; accepts NULL. */
void top_tui_close(struct top_tui *t);
/* Waits up to timeout_ms for a key: a byte, a TOP_KEY_*, or -1 for none. */
int top_tui_key(struct top_tui *t, int timeout_ms);
/* The rows a page holds on the terminal now. */
size_t top_tui_page(const struct top_tui *t);
/* Draws s (moving s->scroll so that the selected row shows). */
void top_tui_draw(struct top_tui *t, struct top_screen *s);

#endif
