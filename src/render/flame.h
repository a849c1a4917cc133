/* flame.h - flame graph outputs of a flame tree (analysis/flame_tree.h): a
 * self-contained interactive SVG, and folded stacks.
 *
 * The SVG draws every frame as static shapes (it shows without script, as
 * in an <img>), and carries the frame data as JSON for its embedded script
 * (src/render/flame.js and flame.css, compiled in): tooltips, zoom, search.
 * Every string is escaped for XML and JSON, so names cannot break out.
 */
#ifndef KILN_RENDER_FLAME_H
#define KILN_RENDER_FLAME_H

#include <stdbool.h>
#include <stdio.h>

#include "analysis/flame_tree.h"

enum flame_palette {
	FLAME_PALETTE_LANG = 0, /* by origin: Rust, Rust std, C/C++, kernel, unknown */
	FLAME_PALETTE_HOT,      /* flamegraph.pl's reds and yellows */
	FLAME_PALETTE_MEM,      /* greens */
	FLAME_PALETTE_IO,       /* blues */
};

/* What flame_render_svg() drew, for the user's summary. */
struct flame_svg_stats {
	uint64_t frames;       /* frames of the tree drawn, the root included */
	uint64_t merged_boxes; /* "[N small frames]" boxes drawn */
	uint64_t hidden;       /* frames of the tree not drawn: too narrow (in a box, or alone) */
};

struct flame_svg_options {
	const char *title;    /* NULL: "Flame Graph" (or "Icicle Graph", ...) */
	const char *subtitle; /* NULL: none */
	const char *notes;    /* NULL: none; shown under the subtitle and in <desc> */
	unsigned width;       /* image width in px; 0: 1200 */
	double min_width;     /* frames narrower than this (px) are merged away; < 0: 0.1 */
	enum flame_palette palette;
	bool icicle;      /* root at the top, growing down */
	const char *view; /* NULL: the plain view; else its name ("reversed"), said in the title */
	const char *info; /* NULL: none; a line under the title: command, samples, duration */
	/* differential graphs (t has a base) */
	const char *base_info, *new_info; /* NULL: none; what BASE and NEW are, shown in the header */
	double samples, base_samples;     /* samples NEW's and BASE's totals stand for; 0: the values are counts */
	bool negate;                      /* t is BASE's shape with NEW as its base (BASE's frames gone
	                                   * from NEW are drawn); colours still say how NEW differs */
	const struct flame_tree *gone;    /* NULL or BASE with NEW as its base: its frames missing
	                                   * from NEW are listed in the header */
	struct flame_svg_stats *stats;    /* NULL, or filled with what was drawn */
};

/* Parses a palette name; returns -1 when unknown. */
int flame_palette_parse(const char *name);

/* The share of the total below which a frame is too narrow to draw with
 * options o (min_width of the usable width). */
double flame_svg_narrowest(const struct flame_svg_options *o);

/* Writes t as an SVG document. Returns 0 or -EIO when writing failed.
 * Opens the packed nodes it needs (flame_tree_open()): t changes only so. */
int flame_render_svg(FILE *out, struct flame_tree *t, const struct flame_svg_options *o);

/* Writes t as folded stacks, "a;b;c SELF" for every node with self > 0, in
 * tree order (sorted by name unless a chart). ';' and line breaks in names
 * are replaced so each line stays one stack. Returns 0 or -EIO. */
int flame_render_folded(FILE *out, const struct flame_tree *t);

/* The embedded script and style (generated from flame.js and flame.css). */
extern const char flame_asset_js[];
extern const char flame_asset_css[];

#endif
