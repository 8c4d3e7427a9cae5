/* video_out.c: frames to MP4/GIF through an ffmpeg child process, or to a
 * folder of PNGs (video_out.h). */
#include "src/io/video_out.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "src/io/dirs.h"  /* ds_is_dir */
#include "base/error.h"       /* ds_fail */
#include "src/io/image_write.h" /* ds_png_write */

extern char **environ;

enum { VIDEO_PATH_MAX = 4096 };

struct ds_video {
    ds_video_kind kind;
    int width, height, frames;
    char path[VIDEO_PATH_MAX]; /* where it goes (a folder: no trailing '/') */
    char tmp[VIDEO_PATH_MAX + 256]; /* where it is written */
    pid_t pid;                 /* ffmpeg, or 0 */
    int fd;                    /* its stdin, or -1 */
};

static int ends_with(const char *s, const char *suffix) {
    const size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

int ds_video_kind_of(const char *path, ds_video_kind *out) {
    if (!path || !*path)
        return 0;
    if (ds_is_dir(path) || path[strlen(path) - 1] == '/')
        *out = DS_VIDEO_PNG_DIR;
    else if (ends_with(path, ".mp4"))
        *out = DS_VIDEO_MP4;
    else if (ends_with(path, ".gif"))
        *out = DS_VIDEO_GIF;
    else
        return 0;
    return 1;
}

int ds_video_have_ffmpeg(void) {
    const char *env = getenv("PATH");
    if (!env)
        return 0;
    char dirs[VIDEO_PATH_MAX * 4];
    snprintf(dirs, sizeof dirs, "%s", env);
    for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        char exe[VIDEO_PATH_MAX];
        struct stat st;
        snprintf(exe, sizeof exe, "%s/ffmpeg", *d ? d : ".");
        if (stat(exe, &st) == 0 && S_ISREG(st.st_mode) && access(exe, X_OK) == 0)
            return 1;
    }
    return 0;
}

static void frame_name(char *buf, size_t len, const char *dir, int i) {
    snprintf(buf, len, "%s/frame_%05d.png", dir, i);
}

int ds_video_exists(const char *path, ds_video_kind kind) {
    struct stat st;
    if (kind != DS_VIDEO_PNG_DIR)
        return stat(path, &st) == 0;
    char first[VIDEO_PATH_MAX + 512];
    frame_name(first, sizeof first, path, 0);
    return stat(first, &st) == 0;
}

/* path without trailing slashes into buf; its parent directory and base name. */
static void split_path(const char *path, char *buf, char *parent, const char **base) {
    snprintf(buf, VIDEO_PATH_MAX, "%s", path);
    for (size_t n = strlen(buf); n > 1 && buf[n - 1] == '/'; n--)
        buf[n - 1] = '\0';
    const char *slash = strrchr(buf, '/');
    if (slash)
        snprintf(parent, VIDEO_PATH_MAX, "%.*s", slash == buf ? 1 : (int)(slash - buf), buf);
    else
        snprintf(parent, VIDEO_PATH_MAX, ".");
    *base = slash ? slash + 1 : buf;
}

static ds_status spawn_ffmpeg(ds_video *v, int fps, int crf) {
    char size[32], rate[16], quality[16];
    snprintf(size, sizeof size, "%dx%d", v->width, v->height);
    snprintf(rate, sizeof rate, "%d", fps);
    snprintf(quality, sizeof quality, "%d", crf);
    /* GIF: one palette for the clip (palettegen over every frame), dithered */
    const char *gif_filter = "split[a][b];[a]palettegen=stats_mode=full[p];[b][p]paletteuse=dither=sierra2_4a";
    const char *argv_mp4[] = {"ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-f", "rawvideo",
                              "-pix_fmt", "rgb24", "-s", size, "-framerate", rate, "-i", "pipe:0",
                              "-c:v", "libx264", "-preset", "veryfast", "-crf", quality, "-pix_fmt", "yuv420p",
                              "-movflags", "+faststart", "-f", "mp4", "-y", v->tmp, NULL};
    const char *argv_gif[] = {"ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-f", "rawvideo",
                              "-pix_fmt", "rgb24", "-s", size, "-framerate", rate, "-i", "pipe:0",
                              "-vf", gif_filter, "-loop", "0", "-f", "gif", "-y", v->tmp, NULL};
    int fds[2];
    if (pipe(fds) != 0)
        return ds_fail(DS_ERR_IO, "%s: pipe: %s", v->path, strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[0], 0);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    char *const *args = (char *const *)(v->kind == DS_VIDEO_GIF ? argv_gif : argv_mp4);
    const int err = posix_spawnp(&v->pid, "ffmpeg", &fa, NULL, args, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[0]);
    if (err != 0) {
        close(fds[1]);
        v->pid = 0;
        return ds_fail(DS_ERR_IO, "%s: cannot run ffmpeg: %s", v->path, strerror(err));
    }
    v->fd = fds[1];
    return DS_OK;
}

ds_status ds_video_open(const char *path, ds_video_kind kind, int width, int height, int fps, int crf,
                        ds_video **out) {
    *out = NULL;
    if (width < 1 || height < 1 || fps < 1)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "%s: a %dx%d video at %d fps", path, width, height, fps);
    if (kind == DS_VIDEO_MP4 && (width % 2 || height % 2))
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "%s: H.264 (yuv420p) needs an even width and height, not %dx%d",
                       path, width, height);
    ds_video *v = calloc(1, sizeof *v);
    if (!v)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    v->kind = kind;
    v->width = width;
    v->height = height;
    v->fd = -1;
    char parent[VIDEO_PATH_MAX];
    const char *base;
    split_path(path, v->path, parent, &base);
    ds_status s = DS_OK;
    if (kind == DS_VIDEO_PNG_DIR) {
        snprintf(v->tmp, sizeof v->tmp, "%s/.%.200s.XXXXXX", parent, base);
        if (!mkdtemp(v->tmp)) {
            s = ds_fail(DS_ERR_IO, "%s: cannot create a folder in %s: %s", path, parent, strerror(errno));
        } else { /* mkdtemp's 0700 would become the folder's: follow the umask instead */
            const mode_t mask = umask(0);
            umask(mask);
            chmod(v->tmp, 0777 & ~mask);
        }
    } else {
        snprintf(v->tmp, sizeof v->tmp, "%s/.%.200s.%ld.tmp", parent, base, (long)getpid());
        /* a dead ffmpeg must not kill us through SIGPIPE: its exit status says what happened */
        signal(SIGPIPE, SIG_IGN);
        s = spawn_ffmpeg(v, fps, crf);
    }
    if (s != DS_OK) {
        v->tmp[0] = '\0';
        free(v);
        return s;
    }
    *out = v;
    return DS_OK;
}

ds_status ds_video_write(ds_video *v, const uint8_t *rgb) {
    if (v->kind == DS_VIDEO_PNG_DIR) {
        char name[VIDEO_PATH_MAX + 512];
        frame_name(name, sizeof name, v->tmp, v->frames);
        DS_TRY(ds_png_write(name, DS_PNG_RGB8, rgb, v->width, v->height));
        v->frames++;
        return DS_OK;
    }
    size_t left = (size_t)v->width * v->height * 3;
    const uint8_t *p = rgb;
    while (left > 0) {
        const ssize_t n = write(v->fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return ds_fail(DS_ERR_IO, "%s: ffmpeg stopped reading frames (%s)", v->path,
                           n < 0 ? strerror(errno) : "closed");
        p += n;
        left -= (size_t)n;
    }
    v->frames++;
    return DS_OK;
}

/* Removes the temporary folder of frames (only what we wrote into it). */
static void remove_frames(const char *dir, int n) {
    char name[VIDEO_PATH_MAX + 512];
    for (int i = 0; i < n; i++) {
        frame_name(name, sizeof name, dir, i);
        unlink(name);
    }
    rmdir(dir);
}

/* Moves the frames into an existing folder, replacing frames there, and
 * removes frames of an older, longer clip beyond the new ones. */
static ds_status merge_frames(ds_video *v) {
    char from[VIDEO_PATH_MAX + 512], to[VIDEO_PATH_MAX + 512];
    for (int i = 0; i < v->frames; i++) {
        frame_name(from, sizeof from, v->tmp, i);
        frame_name(to, sizeof to, v->path, i);
        if (rename(from, to) != 0)
            return ds_fail(DS_ERR_IO, "%s: cannot move frame %d into place: %s", v->path, i, strerror(errno));
    }
    for (int i = v->frames;; i++) {
        frame_name(to, sizeof to, v->path, i);
        if (unlink(to) != 0)
            break;
    }
    rmdir(v->tmp);
    return DS_OK;
}

static ds_status close_folder(ds_video *v, int ok) {
    if (!ok) {
        remove_frames(v->tmp, v->frames);
        return DS_OK;
    }
    if (rename(v->tmp, v->path) == 0)
        return DS_OK;
    if (errno != EEXIST && errno != ENOTEMPTY) {
        const int err = errno;
        remove_frames(v->tmp, v->frames);
        return ds_fail(DS_ERR_IO, "%s: cannot move the frames into place: %s", v->path, strerror(err));
    }
    const ds_status s = merge_frames(v);
    if (s != DS_OK)
        remove_frames(v->tmp, v->frames);
    return s;
}

static ds_status close_ffmpeg(ds_video *v, int ok) {
    if (v->fd >= 0)
        close(v->fd);
    int status = 0;
    while (waitpid(v->pid, &status, 0) < 0 && errno == EINTR) {
    }
    ds_status s = DS_OK;
    if (ok && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        s = ds_fail(DS_ERR_IO, "%s: ffmpeg failed (%s %d)", v->path, WIFEXITED(status) ? "exit status" : "signal",
                    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    else if (ok && rename(v->tmp, v->path) != 0)
        s = ds_fail(DS_ERR_IO, "%s: cannot move the video into place: %s", v->path, strerror(errno));
    if (!ok || s != DS_OK)
        unlink(v->tmp);
    return s;
}

ds_status ds_video_close(ds_video *v, int ok) {
    if (!v)
        return DS_OK;
    const ds_status s = v->kind == DS_VIDEO_PNG_DIR ? close_folder(v, ok) : close_ffmpeg(v, ok);
    free(v);
    return s;
}
