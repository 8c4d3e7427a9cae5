/*
 * model/beit.h: the relative position bias of the BEiT models (model/beit.c)
 * for any grid, as MiDaS computes it, exposed for the tests.
 */
#ifndef DS_MODEL_BEIT_H
#define DS_MODEL_BEIT_H

#include <stdint.h>

#include "model/arch.h" /* ds_describe_beit_* */

/* Rows of a relative position table for a gh x gw grid: (2gh-1)(2gw-1) + 3. */
int64_t ds_beit_table_rows(int gh, int gw);

/* timm's gen_relative_position_index((gh, gw)) as int32 (T, T), T = 1 + gh*gw:
 * patch pairs (dy + gh - 1) * (2gw - 1) + (dx + gw - 1) with dy = y_i - y_j
 * over row-major patches; row 0 R-3, column 0 R-2, [0][0] R-1 (R the rows). */
void ds_beit_index(int gh, int gw, int32_t *index);

/* MiDaS's table for a gh x gw grid from the trained one, `table` (R0, heads)
 * for a g0 x g0 grid: the offset rows resized bilinearly (align_corners
 * False, in double, rounded once) from (2g0-1)^2 to (2gh-1) x (2gw-1), the
 * three class rows appended unchanged; written transposed, `out` (heads, R). */
void ds_beit_resize_table(const float *table, int g0, int heads, int gh, int gw, float *out);

#endif
