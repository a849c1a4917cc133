/* top_tui.c - kiln top's live terminal view with ncursesw: the lines of
 * top_lines_build() with a title, a status line, a highlighted selection
 * and a bottom line for the filter prompt, messages and key help. */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/top.h"
#include "util/xalloc.h"

#define TOP_ROWS_ABOVE 3 /* title, status, column header */

struct top_tui {
	SCREEN *scr;
	struct top_lines lines;
};

struct top_tui *top_tui_open(void)
{
	/* newterm, not initscr: an unknown TERM is an error to report, not
	 * an exit inside the library */
	SCREEN *scr = newterm(NULL, stdout, stdin);
	if (!scr)
		return NULL;
	struct top_tui *t = xcalloc(1, sizeof(*t));
	t->scr = scr;
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	return t;
}

void top_tui_close(struct top_tui *t)
{
	if (!t)
		return;
	endwin();
	delscreen(t->scr);
	top_lines_release(&t->lines);
	free(t);
}

int top_tui_key(struct top_tui *t, int timeout_ms)
{
	(void)t;
	timeout(timeout_ms);
	int c = getch();
	switch (c) {
	case ERR:
		return -1;
	case KEY_UP:
		return TOP_KEY_UP;
	case KEY_DOWN:
		return TOP_KEY_DOWN;
	case KEY_PPAGE:
		return TOP_KEY_PGUP;
	case KEY_NPAGE:
		return TOP_KEY_PGDN;
	case KEY_HOME:
		return TOP_KEY_HOME;
	case KEY_END:
		return TOP_KEY_END;
	case KEY_LEFT:
		return TOP_KEY_LEFT;
	case KEY_RIGHT:
		return TOP_KEY_RIGHT;
	case KEY_ENTER:
	case '\n':
	case '\r':
		return TOP_KEY_ENTER;
	case KEY_BACKSPACE:
	case 127:
	case 8:
		return TOP_KEY_BACKSPACE;
	case 27:
		return TOP_KEY_ESC;
	case KEY_RESIZE:
	case 12: /* ^L: draw everything again, as after a resize */
		clearok(curscr, TRUE);
		return TOP_KEY_RESIZE;
	}
	return c >= 0 && c < 0x100 ? c : -1;
}

size_t top_tui_page(const struct top_tui *t)
{
	(void)t;
	return LINES > TOP_ROWS_ABOVE + 2 ? (size_t)(LINES - TOP_ROWS_ABOVE - 1) : 1;
}

static void put_line(int y, const char *text, size_t len, attr_t attr)
{
	if (y >= LINES || COLS <= 0)
		return;
	attron(attr);
	mvprintw(y, 0, "%-*.*s", COLS, (int)(len < (size_t)COLS ? len : (size_t)COLS), text);
	attroff(attr);
}

void top_tui_draw(struct top_tui *t, struct top_screen *s)
{
	size_t page = top_tui_page(t);
	size_t n = top_screen_nrows(s, s->mode);
	if (s->selected >= n)
		s->selected = n ? n - 1 : 0;
	if (s->selected < s->scroll)
		s->scroll = s->selected;
	if (s->selected >= s->scroll + page)
		s->scroll = s->selected - page + 1;
	/* the call tree scrolls without a highlighted row */
	bool highlight = s->mode != TOP_MODE_CALLTREE;
	top_lines_build(&t->lines, s, s->mode, s->scroll + page);
	erase();
	int y = 0;
	for (size_t i = 0; i < t->lines.v.n; i++) {
		const struct top_line *l = &t->lines.v.v[i];
		const char *text = t->lines.text.buf + l->off;
		attr_t attr = A_NORMAL;
		if (l->kind == TOP_LINE_ROW) {
			if (l->row < s->scroll)
				continue;
			if (highlight && l->row == s->selected)
				attr = A_REVERSE;
		} else if (l->kind == TOP_LINE_TITLE) {
			attr = A_BOLD;
		} else if (l->kind == TOP_LINE_HEADER) {
			attr = A_REVERSE;
		}
		if (y >= LINES - 1)
			break;
		put_line(y++, text, l->len, attr);
	}
	char bottom[256];
	if (s->prompting)
		snprintf(bottom, sizeof(bottom), "filter (regex, empty for none): /%s", s->prompt);
	else if (s->message[0])
		snprintf(bottom, sizeof(bottom), "%s", s->message);
	else
		snprintf(bottom, sizeof(bottom),
		         "q quit  s/t sort self/total  h threads  Enter call tree  "
		         "/ filter  space pause  ? help");
	s->message[0] = '\0';
	put_line(LINES - 1, bottom, strlen(bottom), s->prompting ? A_BOLD : A_DIM);
	refresh();
}
