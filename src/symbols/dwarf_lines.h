/* dwarf_lines.h - one compile unit's DWARF line table (.debug_line,
 * versions 2 to 5) decoded by kiln itself, for naming many addresses
 * quickly: libdw's dwarf_getsrclines() allocates each row, sorts all rows
 * and builds a second array of them for libdwfl, which for Rust's std
 * (41,000 rows) cost more than naming every address in it.
 *
 * A lookup answers as libdwfl's dwfl_module_getsrc() (libdw 0.188) does:
 * the row at the greatest address not above the one asked, the last of
 * the rows there in the program's order that does not end a sequence; no
 * row when only sequence ends are there, nor at the table's highest
 * address (libdw marks the last row an end, in case a compiler forgot). File names are built as libdw builds
 * them (the directory, "/", the name; absolute names as they are). The
 * decoder is stricter than libdw: whatever it refuses, the caller leaves
 * to libdw.
 */
#ifndef KILN_SYMBOLS_DWARF_LINES_H
#define KILN_SYMBOLS_DWARF_LINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The sections a line table reads; a missing one is NULL with size 0.
 * They must stay valid while a table made from them lives. */
struct dwarf_line_sections {
	const uint8_t *line, *line_str, *str;
	size_t line_size, line_str_size, str_size;
};

struct dwarf_lines;

/* Decodes the line program at offset in sec->line. address_size is the
 * CU's (versions before 5 do not say theirs), comp_dir its DW_AT_comp_dir
 * or NULL (copied). Returns 0 and sets *out, -EINVAL for a table it does
 * not take (malformed, or forms it does not read), -ERANGE for an offset
 * outside the section. */
int dwarf_lines_new(const struct dwarf_line_sections *sec, uint64_t offset, unsigned address_size, const char *comp_dir,
                    struct dwarf_lines **out);
void dwarf_lines_free(struct dwarf_lines *t);

/* The row for addr: true with *file (an index for dwarf_lines_file) and
 * *line (0 for none or a line number below 1); false when no row covers
 * addr. Not const: the first lookup landing in a cluster of overlapping
 * sequences sorts it (so one table is not for two threads at once, as
 * the module holding it is not). */
bool dwarf_lines_find(struct dwarf_lines *t, uint64_t addr, uint32_t *file, uint32_t *line);
/* The number of files, and file i's name (valid while t lives), NULL
 * when i is not one. */
size_t dwarf_lines_file_count(const struct dwarf_lines *t);
const char *dwarf_lines_file(const struct dwarf_lines *t, uint64_t i);
/* The number of rows (for tests). */
size_t dwarf_lines_row_count(const struct dwarf_lines *t);

#endif
