/* top_keys.c - what kiln top's keys do to its view. */
#include <stdio.h>
#include <string.h>

#include "render/top.h"

static const char help[] = "keys: s/t sort by self/total, h threads, Enter call tree, f functions, "
                           "space pause, / filter, arrows move, q quit";

/* Keys while the filter is typed after '/'. */
static enum top_action prompt_key(struct top_screen *s, int key)
{
	if (key == TOP_KEY_ESC) {
		s->prompting = false;
		return TOP_ACTION_REDRAW;
	}
	if (key == TOP_KEY_ENTER) {
		s->prompting = false;
		s->prompt[s->prompt_len] = '\0';
		if (top_screen_set_filter(s, s->prompt) == 0)
			s->selected = s->scroll = 0;
		return TOP_ACTION_REDRAW;
	}
	if (key == TOP_KEY_BACKSPACE) {
		if (s->prompt_len)
			s->prompt[--s->prompt_len] = '\0';
		return TOP_ACTION_REDRAW;
	}
	if (key >= 0x20 && key < 0x7f && s->prompt_len + 1 < sizeof(s->prompt)) {
		s->prompt[s->prompt_len++] = (char)key;
		s->prompt[s->prompt_len] = '\0';
		return TOP_ACTION_REDRAW;
	}
	return TOP_ACTION_NONE;
}

static enum top_action move(struct top_screen *s, int key, size_t page)
{
	size_t n = top_screen_nrows(s, s->mode);
	size_t last = n ? n - 1 : 0;
	size_t at = s->selected;
	switch (key) {
	case TOP_KEY_UP:
	case 'k':
		at = at ? at - 1 : 0;
		break;
	case TOP_KEY_DOWN:
	case 'j':
		at = at < last ? at + 1 : last;
		break;
	case TOP_KEY_PGUP:
		at = at > page ? at - page : 0;
		break;
	case TOP_KEY_PGDN:
		at = at + page < last ? at + page : last;
		break;
	case TOP_KEY_HOME:
		at = 0;
		break;
	case TOP_KEY_END:
		at = last;
		break;
	}
	s->selected = at;
	return TOP_ACTION_REDRAW;
}

enum top_action top_screen_key(struct top_screen *s, int key, size_t page)
{
	if (s->prompting)
		return prompt_key(s, key);
	const struct hotspot_func *f;
	switch (key) {
	case 'q':
	case 'Q':
		return TOP_ACTION_QUIT;
	case 's':
	case 't':
		s->sort = key == 's' ? HOTSPOT_SORT_SELF : HOTSPOT_SORT_TOTAL;
		s->mode = TOP_MODE_FUNCTIONS;
		s->selected = s->scroll = 0;
		return TOP_ACTION_REBUILD;
	case 'h':
	case 'H':
		s->mode = s->mode == TOP_MODE_THREADS ? TOP_MODE_FUNCTIONS : TOP_MODE_THREADS;
		s->selected = s->scroll = 0;
		return TOP_ACTION_REDRAW;
	case 'f':
	case 'F':
	case TOP_KEY_ESC:
	case TOP_KEY_LEFT:
		s->mode = TOP_MODE_FUNCTIONS;
		s->selected = s->scroll = 0;
		return TOP_ACTION_REDRAW;
	case TOP_KEY_ENTER:
	case TOP_KEY_RIGHT:
	case 'c':
		if (s->mode != TOP_MODE_FUNCTIONS)
			return TOP_ACTION_NONE;
		f = top_screen_function(s, s->selected);
		if (!f) {
			snprintf(s->message, sizeof(s->message), "no function selected");
			return TOP_ACTION_REDRAW;
		}
		s->sel_name = f->name;
		s->sel_module = f->module;
		s->mode = TOP_MODE_CALLTREE;
		s->selected = s->scroll = 0;
		return TOP_ACTION_REBUILD;
	case ' ':
	case 'p':
	case 'P':
		s->paused = !s->paused;
		return TOP_ACTION_REDRAW;
	case '/':
		s->prompting = true;
		snprintf(s->prompt, sizeof(s->prompt), "%s", s->filter_text);
		s->prompt_len = strlen(s->prompt);
		return TOP_ACTION_REDRAW;
	case '?':
		snprintf(s->message, sizeof(s->message), "%s", help);
		return TOP_ACTION_REDRAW;
	case TOP_KEY_RESIZE:
		return TOP_ACTION_REDRAW;
	case TOP_KEY_UP:
	case TOP_KEY_DOWN:
	case TOP_KEY_PGUP:
	case TOP_KEY_PGDN:
	case TOP_KEY_HOME:
	case TOP_KEY_END:
	case 'j':
	case 'k':
		return move(s, key, page);
	}
	return TOP_ACTION_NONE;
}
