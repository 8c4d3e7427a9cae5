/*
 * mesh_write.h: ds_mesh files, the format told by the extension:
 *
 *  - .glb: binary glTF 2.0: one mesh (POSITION with min/max, NORMAL,
 *    TEXCOORD_0, uint32 indices), the photo as a PNG embedded as the
 *    base-colour texture (unlit-looking: metallic 0, roughness 1, double
 *    sided), and a perspective camera node that sees the mesh as the photo.
 *  - .obj: Wavefront OBJ (v, vt, vn, f) + OUT.mtl (map_Kd) + OUT-texture.png.
 *  - .ply: binary little-endian PLY (x y z nx ny nz s t; faces as uchar
 *    count + uint32 indices) + OUT-texture.png (a TextureFile comment).
 *
 * Units and axes as ds_mesh: metres, +Y up, +Z towards the viewer, glTF's.
 * UVs: glTF's (v down) in the .glb; OBJ and PLY store t = 1 - v, their
 * convention (origin at the bottom-left of the texture).
 * Every file goes through a temporary name and a rename; the main file is
 * renamed last, and on failure the side files written so far are removed.
 * A mesh without a triangle is refused (a glTF accessor may not be empty).
 */
#ifndef DS_MESH_WRITE_H
#define DS_MESH_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "depthsolve.h" /* ds_mesh, ds_status */
#include "src/io/image.h"      /* ds_image */

typedef enum ds_mesh_format { DS_MESH_GLB = 0, DS_MESH_OBJ, DS_MESH_PLY } ds_mesh_format;

/* From "glb", "obj", "ply"; 0 if none of them. */
int ds_mesh_format_from_name(const char *name, ds_mesh_format *out);
/* From the extension of `path`; 0 if none of them. */
int ds_mesh_format_from_path(const char *path, ds_mesh_format *out);
const char *ds_mesh_format_ext(ds_mesh_format f); /* "glb", ... */

/* Writes `m` textured with `photo` (the image the depth map is of). */
ds_status ds_mesh_write(const char *path, ds_mesh_format f, const ds_mesh *m, const ds_image *photo);

/* The side files of `path` (OUT.ext): OUT-texture.png and OUT.mtl; 0 if too long. */
int ds_mesh_side_path(const char *path, const char *suffix, char *buf, size_t len);

/* The formats' writers (mesh_glb.c, mesh_obj.c, mesh_ply.c): only the main
 * file; `texture_name` is the texture's file name relative to it. */
ds_status ds_mesh_write_glb(const char *path, const ds_mesh *m, const uint8_t *png, size_t png_len);
ds_status ds_mesh_write_obj(const char *path, const ds_mesh *m, const char *mtl_name);
ds_status ds_mesh_write_mtl(const char *path, const char *texture_name);
ds_status ds_mesh_write_ply(const char *path, const ds_mesh *m, const char *texture_name);

/* The photo as a PNG in memory (malloc'd). */
ds_status ds_mesh_texture_png(const ds_image *photo, uint8_t **png, size_t *len);

#endif
