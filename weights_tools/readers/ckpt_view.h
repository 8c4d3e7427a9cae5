/* ckpt_view.h: state_dict lookups that ignore a DataParallel "module." prefix. */
#ifndef DS_CKPT_VIEW_H
#define DS_CKPT_VIEW_H

#include "weights_tools/readers/checkpoint.h" /* ds_ckpt */
#include "base/shape.h" /* ds_format_shape */

typedef struct ds_ckpt_view {
    const ds_ckpt *ck;
    size_t strip; /* length of a prefix every key shares ("module."), else 0 */
} ds_ckpt_view;

void ds_ckpt_view_init(ds_ckpt_view *v, const ds_ckpt *ck);
long ds_ckpt_view_find(const ds_ckpt_view *v, const char *name); /* index or -1 */
const char *ds_ckpt_view_name(const ds_ckpt_view *v, size_t i);

/* Whether tensor i has exactly this shape. */
int ds_ckpt_view_shape_is(const ds_ckpt_view *v, size_t i, int ndim, const int64_t *shape);

#endif
