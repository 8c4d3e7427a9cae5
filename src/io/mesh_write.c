/* mesh_write.c: the mesh file formats by extension, their side files, and
 * the texture PNG. */
#include "src/io/mesh_write.h"

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"       /* ds_fail */
#include "src/io/image_write.h" /* ds_png_write */

static const char *const EXT[] = {"glb", "obj", "ply"};

int ds_mesh_format_from_name(const char *name, ds_mesh_format *out) {
    for (int i = 0; i < 3; i++)
        if (!strcasecmp(name, EXT[i])) {
            *out = (ds_mesh_format)i;
            return 1;
        }
    return 0;
}

int ds_mesh_format_from_path(const char *path, ds_mesh_format *out) {
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    return dot && (!slash || dot > slash) && ds_mesh_format_from_name(dot + 1, out);
}

const char *ds_mesh_format_ext(ds_mesh_format f) { return EXT[f]; }

int ds_mesh_side_path(const char *path, const char *suffix, char *buf, size_t len) {
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    const int base = dot && (!slash || dot > slash) ? (int)(dot - path) : (int)strlen(path);
    return snprintf(buf, len, "%.*s%s", base, path, suffix) < (int)len;
}

ds_status ds_mesh_texture_png(const ds_image *photo, uint8_t **png, size_t *len) {
    *png = NULL;
    *len = 0;
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = (png_uint_32)photo->width;
    img.height = (png_uint_32)photo->height;
    img.format = PNG_FORMAT_RGB;
    png_alloc_size_t need = 0;
    if (!png_image_write_to_memory(&img, NULL, &need, 0, photo->rgb, 0, NULL))
        return ds_fail(DS_ERR_INTERNAL, "texture: PNG encoding failed: %s", img.message);
    *png = malloc(need);
    if (!*png)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "texture: out of memory");
    if (!png_image_write_to_memory(&img, *png, &need, 0, photo->rgb, 0, NULL)) {
        free(*png);
        *png = NULL;
        return ds_fail(DS_ERR_INTERNAL, "texture: PNG encoding failed: %s", img.message);
    }
    *len = need;
    return DS_OK;
}

static const char *file_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

ds_status ds_mesh_write(const char *path, ds_mesh_format f, const ds_mesh *m, const ds_image *photo) {
    if (!m || m->n_triangles < 1 || m->n_vertices < 3)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "%s: the mesh has no triangle (an image too small for the "
                                                "grid, or --tear dropped them all)", path);
    if (f == DS_MESH_GLB) {
        uint8_t *png;
        size_t len;
        DS_TRY(ds_mesh_texture_png(photo, &png, &len));
        ds_status s = ds_mesh_write_glb(path, m, png, len);
        free(png);
        return s;
    }
    char tex[4096], mtl[4096];
    if (!ds_mesh_side_path(path, "-texture.png", tex, sizeof tex) || !ds_mesh_side_path(path, ".mtl", mtl, sizeof mtl))
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "%s: path too long", path);
    DS_TRY(ds_png_write(tex, DS_PNG_RGB8, photo->rgb, photo->width, photo->height));
    ds_status s = f == DS_MESH_OBJ ? ds_mesh_write_mtl(mtl, file_name(tex)) : DS_OK;
    if (s == DS_OK)
        s = f == DS_MESH_OBJ ? ds_mesh_write_obj(path, m, file_name(mtl)) : ds_mesh_write_ply(path, m, file_name(tex));
    if (s != DS_OK) {
        unlink(tex);
        if (f == DS_MESH_OBJ)
            unlink(mtl);
    }
    return s;
}
