#!/usr/bin/env bash
# depthsolve animate end to end: MP4 and GIF re-read by ffprobe with the
# frame count and size asked for, a folder of PNG frames whose frame 0 is
# the photo (ffmpeg's psnr), every motion, the fallback to PNG frames
# without ffmpeg, an ffmpeg that fails (nothing left behind), existing
# outputs, bad photos and usage errors.
. "$(dirname "$0")/shell_lib.sh"
M=${DS_MODELS:-build/models}/midas_v21_small_256.gguf
I=tests/data/images
run() { "$DS_BIN" animate -q --height 64 --model "$M" "$@"; }
probe() { ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=width,height,nb_read_frames \
              -of csv=p=0 "$1"; }
nframes() { ls "$1" 2>/dev/null | grep -c '^frame_[0-9]\{5\}\.png$'; }

if command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null; then
    # jpeg_baseline_420.jpg is 45x31: MP4 takes 44x30 (even), GIF and PNG keep 45x31
    run $I/jpeg_baseline_420.jpg -o "$T/a.mp4" --seconds 1 --fps 12 && [ "$(probe "$T/a.mp4")" = "44,30,12" ] &&
        pass mp4_frames_and_size || fail mp4_frames_and_size "$(probe "$T/a.mp4" 2>&1)"
    run $I/jpeg_baseline_420.jpg -o "$T/a.gif" --seconds 0.5 --fps 10 --motion circle &&
        [ "$(probe "$T/a.gif")" = "45,31,5" ] && pass gif_frames_and_size || fail gif_frames_and_size "$(probe "$T/a.gif" 2>&1)"
    run $I/jpeg_baseline_420.jpg -o "$T/b.mp4" --size 64x48 --seconds 0.25 --fps 8 && [ "$(probe "$T/b.mp4")" = "64,48,2" ] &&
        pass mp4_size_option || fail mp4_size_option "$(probe "$T/b.mp4" 2>&1)"
    # frame 0 is the photo: PNG frames of a PNG photo at its own size
    run $I/png_rgb8.png -o "$T/f0/" --seconds 0.2 --fps 10 &&
        p=$(ffmpeg -hide_banner -nostdin -i "$T/f0/frame_00000.png" -i $I/png_rgb8.png -lavfi psnr -f null - 2>&1 |
            sed -n 's/.*PSNR.*average:\([^ ]*\).*/\1/p') &&
        "$PY" -c 'import sys; v = sys.argv[1]; sys.exit(not (v == "inf" or float(v) > 40))' "$p" &&
        pass frame0_is_the_photo || fail frame0_is_the_photo "PSNR '$p'"
    # an ffmpeg that fails: an error naming the file, nothing left behind
    mkdir -p "$T/badbin" && printf '#!/bin/sh\ncat >/dev/null\nexit 3\n' >"$T/badbin/ffmpeg" && chmod +x "$T/badbin/ffmpeg"
    mkdir -p "$T/fail"
    expect ffmpeg_failure_reported 1 "ffmpeg failed" -- env PATH="$T/badbin:$PATH" "$DS_BIN" animate -q --height 64 \
        --model "$M" $I/jpeg_baseline_420.jpg -o "$T/fail/x.mp4" --seconds 0.2
    [ -z "$(ls -A "$T/fail")" ] && pass ffmpeg_failure_leaves_nothing || fail ffmpeg_failure_leaves_nothing "$(ls -A "$T/fail")"
else
    echo "SKIP animate MP4/GIF tests: no ffmpeg/ffprobe (apt-get install ffmpeg)"
fi

# every motion, to PNG frames (odd sizes are fine there)
for m in zoom dolly straight swing circle; do
    run $I/png_rgb8.png -o "$T/m_$m/" --motion $m --seconds 0.3 --fps 10 && [ "$(nframes "$T/m_$m")" = 3 ] &&
        pass "motion_$m" || fail "motion_$m" "$(ls "$T/m_$m" 2>&1)"
done
run $I/png_rgb8.png -o "$T/opts/" --seconds 0.2 --fps 10 --strength 0.5 --focus 0.3 --fov 70 --tear 4 &&
    [ "$(nframes "$T/opts")" = 2 ] && pass options_accepted || fail options_accepted "$(ls "$T/opts" 2>&1)"

# the CUDA backend and render kernels under the emulator (depth and frames)
if run $I/png_rgb8.png -o "$T/emu/" --seconds 0.2 --fps 10 --device cuda-emu 2>"$T/emu.err"; then
    [ "$(nframes "$T/emu")" = 2 ] && pass cuda_emu_frames || fail cuda_emu_frames "$(ls "$T/emu" 2>&1)"
elif grep -q "without the CUDA headers" "$T/emu.err"; then
    echo "SKIP cuda_emu_frames: built without the CUDA headers"
else
    fail cuda_emu_frames "$(cat "$T/emu.err")"
fi

# without ffmpeg: PNG frames beside the asked-for file, exit 1
expect no_ffmpeg_falls_back 1 "ffmpeg is not on PATH" -- env PATH=/nonexistent "$DS_BIN" animate -q --height 64 \
    --model "$M" $I/png_rgb8.png -o "$T/nf.mp4" --seconds 0.2 --fps 10
[ "$(nframes "$T/nf_frames")" = 2 ] && [ ! -e "$T/nf.mp4" ] && pass no_ffmpeg_frames_written ||
    fail no_ffmpeg_frames_written "$(ls "$T" 2>&1)"

# existing outputs: kept unless --overwrite
expect existing_frames_kept 1 "exists" -- run $I/png_rgb8.png -o "$T/m_zoom/" --seconds 0.2
run $I/png_rgb8.png -o "$T/m_zoom/" --seconds 0.2 --fps 10 --overwrite && [ "$(nframes "$T/m_zoom")" = 2 ] &&
    pass overwrite_replaces_frames || fail overwrite_replaces_frames "$(ls "$T/m_zoom")"

# bad photos and usage
expect missing_photo 1 "$T/none.png" -- run "$T/none.png" -o "$T/x/"
expect corrupt_photo 1 "bad_idat_crc.png" -- run $I/bad_idat_crc.png -o "$T/y/"
[ ! -e "$T/x" ] && [ ! -e "$T/y" ] && [ -z "$(ls -A "$T" | grep '^\.')" ] && pass bad_photo_leaves_nothing ||
    fail bad_photo_leaves_nothing "$(ls -A "$T")"
expect unknown_motion 2 "--motion" -- run $I/png_rgb8.png -o "$T/z/" --motion spin
expect odd_mp4_size 2 "even" -- run $I/png_rgb8.png -o "$T/z.mp4" --size 45x31
expect unknown_output 2 ".mp4" -- run $I/png_rgb8.png -o "$T/z.avi"
expect bad_seconds 2 "--seconds" -- run $I/png_rgb8.png -o "$T/z/" --seconds 0
expect bad_focus 2 "--focus" -- run $I/png_rgb8.png -o "$T/z/" --focus 2
expect no_such_folder 1 "not writable" -- run $I/png_rgb8.png -o "$T/no/such/dir/z.mp4"
expect two_photos 2 "one IMAGE" -- run $I/png_rgb8.png $I/png_rgb8.png -o "$T/z/"
