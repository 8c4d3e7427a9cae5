/*
 * video_out.h: the frames of `depthsolve animate` to a file: MP4 (H.264) or
 * GIF through the ffmpeg program (a pipe of raw RGB frames), or a folder of
 * PNG frames. Nothing appears at the output path before ds_video_close
 * commits: ffmpeg writes a temporary file beside it, PNG frames go to a
 * temporary folder beside it, both renamed when complete.
 */
#ifndef DS_VIDEO_OUT_H
#define DS_VIDEO_OUT_H

#include <stdint.h>

#include "depthsolve.h" /* ds_status */

typedef enum ds_video_kind { DS_VIDEO_MP4 = 0, DS_VIDEO_GIF, DS_VIDEO_PNG_DIR } ds_video_kind;

/* .mp4 or .gif (any case) by extension; an existing directory or a path
 * ending in '/' is a PNG folder. 0 if none of these. */
int ds_video_kind_of(const char *path, ds_video_kind *out);

/* Whether `ffmpeg` is an executable on $PATH. */
int ds_video_have_ffmpeg(void);

/* Whether writing `path` would replace something: the file, or frames
 * (frame_*.png) already in the folder. */
int ds_video_exists(const char *path, ds_video_kind kind);

typedef struct ds_video ds_video;

/* width x height RGB8 frames at fps. MP4 needs even sizes (yuv420p). crf:
 * x264's constant rate factor (quality; lower is better). */
ds_status ds_video_open(const char *path, ds_video_kind kind, int width, int height, int fps, int crf,
                        ds_video **out);
/* One frame, rows tightly packed. */
ds_status ds_video_write(ds_video *v, const uint8_t *rgb);
/* ok: finish and move into place; !ok: discard. Frees v (NULL-safe). */
ds_status ds_video_close(ds_video *v, int ok);

#endif
