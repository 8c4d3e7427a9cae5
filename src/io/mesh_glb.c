/* mesh_glb.c: binary glTF 2.0 (header, JSON chunk written with cJSON, BIN
 * chunk: vertices, indices, PNG), little-endian hosts. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/atomic_file.h" /* ds_atomic_open, ds_atomic_commit */
#include "base/error.h"       /* ds_fail */
#include "src/io/mesh_write.h"

enum {
    GL_FLOAT = 5126,
    GL_UNSIGNED_INT = 5125,
    GL_ARRAY_BUFFER = 34962,
    GL_ELEMENT_ARRAY_BUFFER = 34963,
    GL_LINEAR = 9729,
    GL_LINEAR_MIPMAP_LINEAR = 9987,
    GL_CLAMP_TO_EDGE = 33071,
    GLB_MAGIC = 0x46546C67, /* "glTF" */
    GLB_JSON = 0x4E4F534A,  /* "JSON" */
    GLB_BIN = 0x004E4942,   /* "BIN\0" */
};

static size_t pad4(size_t n) { return (n + 3) & ~(size_t)3; }

static cJSON *numbers(const double *v, int n) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
    return a;
}

static cJSON *obj(cJSON *parent_array) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToArray(parent_array, o);
    return o;
}

static void add_view(cJSON *views, size_t offset, size_t len, int stride, int target) {
    cJSON *v = obj(views);
    cJSON_AddNumberToObject(v, "buffer", 0);
    cJSON_AddNumberToObject(v, "byteOffset", (double)offset);
    cJSON_AddNumberToObject(v, "byteLength", (double)len);
    if (stride)
        cJSON_AddNumberToObject(v, "byteStride", stride);
    if (target)
        cJSON_AddNumberToObject(v, "target", target);
}

static cJSON *add_accessor(cJSON *accs, int view, int offset, int type, int64_t count, const char *shape) {
    cJSON *a = obj(accs);
    cJSON_AddNumberToObject(a, "bufferView", view);
    cJSON_AddNumberToObject(a, "byteOffset", offset);
    cJSON_AddNumberToObject(a, "componentType", type);
    cJSON_AddNumberToObject(a, "count", (double)count);
    cJSON_AddStringToObject(a, "type", shape);
    return a;
}

/* The glTF document of a mesh whose BIN chunk holds vertices, indices and the PNG. */
static cJSON *document(const ds_mesh *m, size_t vbytes, size_t ibytes, size_t png_len, size_t bin_len) {
    cJSON *root = cJSON_CreateObject();
    cJSON *asset = cJSON_AddObjectToObject(root, "asset");
    cJSON_AddStringToObject(asset, "version", "2.0");
    cJSON_AddStringToObject(asset, "generator", "depthsolve mesh");
    cJSON_AddNumberToObject(root, "scene", 0);
    cJSON *scene = obj(cJSON_AddArrayToObject(root, "scenes"));
    const double scene_nodes[] = {0, 1};
    cJSON_AddItemToObject(scene, "nodes", numbers(scene_nodes, 2));

    cJSON *nodes = cJSON_AddArrayToObject(root, "nodes");
    cJSON *mesh_node = obj(nodes);
    cJSON_AddStringToObject(mesh_node, "name", "photo");
    cJSON_AddNumberToObject(mesh_node, "mesh", 0);
    cJSON *cam_node = obj(nodes);
    cJSON_AddStringToObject(cam_node, "name", "photo camera");
    cJSON_AddNumberToObject(cam_node, "camera", 0);
    const double at[] = {0, 0, m->camera_z};
    cJSON_AddItemToObject(cam_node, "translation", numbers(at, 3));

    /* near and far around the mesh's extent along -Z, seen from the camera */
    const double zn = m->camera_z - m->bounds_max[2], zf = m->camera_z - m->bounds_min[2];
    cJSON *cam = obj(cJSON_AddArrayToObject(root, "cameras"));
    cJSON_AddStringToObject(cam, "type", "perspective");
    cJSON *persp = cJSON_AddObjectToObject(cam, "perspective");
    cJSON_AddNumberToObject(persp, "yfov", m->yfov);
    cJSON_AddNumberToObject(persp, "aspectRatio", m->aspect);
    cJSON_AddNumberToObject(persp, "znear", zn > 0 ? 0.5 * zn : 0.01);
    cJSON_AddNumberToObject(persp, "zfar", zf > 0 ? 2.0 * zf : 100.0);

    cJSON *prim = obj(cJSON_AddArrayToObject(obj(cJSON_AddArrayToObject(root, "meshes")), "primitives"));
    cJSON *attr = cJSON_AddObjectToObject(prim, "attributes");
    cJSON_AddNumberToObject(attr, "POSITION", 0);
    cJSON_AddNumberToObject(attr, "NORMAL", 1);
    cJSON_AddNumberToObject(attr, "TEXCOORD_0", 2);
    cJSON_AddNumberToObject(prim, "indices", 3);
    cJSON_AddNumberToObject(prim, "material", 0);
    cJSON_AddNumberToObject(prim, "mode", 4);

    cJSON *mat = obj(cJSON_AddArrayToObject(root, "materials"));
    cJSON_AddStringToObject(mat, "name", "photo");
    cJSON_AddBoolToObject(mat, "doubleSided", 1);
    cJSON *pbr = cJSON_AddObjectToObject(mat, "pbrMetallicRoughness");
    cJSON_AddNumberToObject(cJSON_AddObjectToObject(pbr, "baseColorTexture"), "index", 0);
    cJSON_AddNumberToObject(pbr, "metallicFactor", 0);
    cJSON_AddNumberToObject(pbr, "roughnessFactor", 1);
    cJSON *tex = obj(cJSON_AddArrayToObject(root, "textures"));
    cJSON_AddNumberToObject(tex, "sampler", 0);
    cJSON_AddNumberToObject(tex, "source", 0);
    cJSON *smp = obj(cJSON_AddArrayToObject(root, "samplers"));
    cJSON_AddNumberToObject(smp, "magFilter", GL_LINEAR);
    cJSON_AddNumberToObject(smp, "minFilter", GL_LINEAR_MIPMAP_LINEAR);
    cJSON_AddNumberToObject(smp, "wrapS", GL_CLAMP_TO_EDGE);
    cJSON_AddNumberToObject(smp, "wrapT", GL_CLAMP_TO_EDGE);
    cJSON *img = obj(cJSON_AddArrayToObject(root, "images"));
    cJSON_AddNumberToObject(img, "bufferView", 2);
    cJSON_AddStringToObject(img, "mimeType", "image/png");

    cJSON_AddNumberToObject(obj(cJSON_AddArrayToObject(root, "buffers")), "byteLength", (double)bin_len);
    cJSON *views = cJSON_AddArrayToObject(root, "bufferViews");
    add_view(views, 0, vbytes, 32, GL_ARRAY_BUFFER);
    add_view(views, vbytes, ibytes, 0, GL_ELEMENT_ARRAY_BUFFER);
    add_view(views, vbytes + ibytes, png_len, 0, 0);
    cJSON *accs = cJSON_AddArrayToObject(root, "accessors");
    cJSON *pos = add_accessor(accs, 0, 0, GL_FLOAT, m->n_vertices, "VEC3");
    const double lo[] = {m->bounds_min[0], m->bounds_min[1], m->bounds_min[2]};
    const double hi[] = {m->bounds_max[0], m->bounds_max[1], m->bounds_max[2]};
    cJSON_AddItemToObject(pos, "min", numbers(lo, 3));
    cJSON_AddItemToObject(pos, "max", numbers(hi, 3));
    add_accessor(accs, 0, 12, GL_FLOAT, m->n_vertices, "VEC3");
    add_accessor(accs, 0, 24, GL_FLOAT, m->n_vertices, "VEC2");
    add_accessor(accs, 1, 0, GL_UNSIGNED_INT, m->n_triangles * 3, "SCALAR");
    return root;
}

static int put_u32(FILE *f, uint32_t v) { return fwrite(&v, 4, 1, f) == 1; }

static int put_pad(FILE *f, size_t n, char c) {
    for (size_t i = 0; i < n; i++)
        if (fputc(c, f) == EOF)
            return 0;
    return 1;
}

ds_status ds_mesh_write_glb(const char *path, const ds_mesh *m, const uint8_t *png, size_t png_len) {
    const size_t vbytes = (size_t)m->n_vertices * 32, ibytes = (size_t)m->n_triangles * 12;
    const size_t bin_len = vbytes + ibytes + pad4(png_len);
    cJSON *doc = document(m, vbytes, ibytes, png_len, bin_len);
    char *json = doc ? cJSON_PrintUnformatted(doc) : NULL;
    cJSON_Delete(doc);
    if (!json)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "%s: out of memory for the glTF document", path);
    const size_t json_len = strlen(json), json_padded = pad4(json_len);
    const size_t total = 12 + 8 + json_padded + 8 + bin_len;
    if (total > UINT32_MAX) {
        free(json);
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "%s: %zu bytes is over the 4 GiB a .glb can hold", path, total);
    }
    ds_atomic_file af;
    ds_status s = ds_atomic_open(&af, path);
    if (s != DS_OK) {
        free(json);
        return s;
    }
    FILE *f = af.f;
    int ok = put_u32(f, GLB_MAGIC) && put_u32(f, 2) && put_u32(f, (uint32_t)total) &&
             put_u32(f, (uint32_t)json_padded) && put_u32(f, GLB_JSON) && fwrite(json, 1, json_len, f) == json_len &&
             put_pad(f, json_padded - json_len, ' ') && put_u32(f, (uint32_t)bin_len) && put_u32(f, GLB_BIN) &&
             fwrite(m->vertices, 32, (size_t)m->n_vertices, f) == (size_t)m->n_vertices &&
             fwrite(m->indices, 12, (size_t)m->n_triangles, f) == (size_t)m->n_triangles &&
             fwrite(png, 1, png_len, f) == png_len && put_pad(f, pad4(png_len) - png_len, 0);
    free(json);
    return ds_atomic_commit(&af, ok);
}
