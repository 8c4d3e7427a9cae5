#!/usr/bin/env bash
# depthsolve depth end to end on a folder of good and bad photos: exit codes,
# the summary, mirrored sub-folders, no partial or temporary files, reruns
# that skip finished photos, shards, normalization modes and usage errors.
. "$(dirname "$0")/shell_lib.sh"
M=${DS_MODELS:-build/models}/midas_v21_small_256.gguf
I=tests/data/images
IN=$T/in OUT=$T/out
mkdir -p "$IN/sub/deeper"
cp $I/png_rgb8.png $I/jpeg_progressive.jpg "$IN/"
cp $I/jpeg_exif6.jpg "$IN/sub/"
cp $I/png_gray16.png "$IN/sub/deeper/"
: >"$IN/empty.jpg"
cp $I/text_named.jpg "$IN/notes.jpg"
head -c 300 $I/png_rgb8.png >"$IN/truncated.png"
cp $I/huge_100000x100000.png "$IN/huge.png"
echo "ignored" >"$IN/readme.txt"
run() { "$DS_BIN" depth -q --height 64 --model "$M" "$@"; }

err=$(run -r "$IN" -o "$OUT" --format png16,pfm 2>&1); rc=$?
[ $rc -eq 1 ] && pass batch_with_bad_files_exits_1 || fail batch_with_bad_files_exits_1 "exit $rc"
for f in empty.jpg notes.jpg truncated.png huge.png; do
    grep -q "$IN/$f: " <<<"$err" && pass "reports_$f" || fail "reports_$f" "$err"
done
[ "$(grep -c . <<<"$err")" -eq 4 ] && pass one_line_per_bad_file || fail one_line_per_bad_file "$err"
# without -q the summary ends by naming the photos that failed
err=$("$DS_BIN" depth --height 64 --model "$M" -r "$IN" -o "$OUT" --format png16,pfm 2>&1)
last=$(tail -n 1 <<<"$err")
[[ "$last" == "depthsolve depth: failed: "* ]] && [ "$(grep -o "$IN/[a-z]*\.[a-z]*" <<<"$last" | sort | tr '\n' ' ')" = \
    "$IN/empty.jpg $IN/huge.png $IN/notes.jpg $IN/truncated.png " ] &&
    pass summary_names_the_failed_photos || fail summary_names_the_failed_photos "$err"
n_png=$(find "$OUT" -name '*.png' | wc -l); n_pfm=$(find "$OUT" -name '*.pfm' | wc -l)
[ "$n_png" -eq 4 ] && [ "$n_pfm" -eq 4 ] && pass good_photos_written || fail good_photos_written "$n_png png, $n_pfm pfm"
[ -f "$OUT/sub/deeper/png_gray16-midas_v21_small_256.png" ] && pass subfolders_mirrored || fail subfolders_mirrored "$(find "$OUT")"
[ -z "$(find "$OUT" -name '.*' -o -name '*empty*' -o -name '*notes*' -o -name '*truncated*' -o -name '*huge*')" ] &&
    pass no_partial_or_temporary_files || fail no_partial_or_temporary_files "$(find "$OUT")"
mode=$(stat -c %a "$OUT/png_rgb8-midas_v21_small_256.png" 2>/dev/null)
want=$(printf '%o' $((0666 & ~$(umask))))
[ "$mode" = "$want" ] && pass outputs_follow_the_umask || fail outputs_follow_the_umask "mode $mode, umask $(umask)"

err=$("$DS_BIN" depth --height 64 --model "$M" -r "$IN" -o "$OUT" --format png16,pfm 2>&1 >/dev/null)
grep -q "0 written, 4 skipped (outputs exist), 4 failed" <<<"$err" && pass rerun_skips_done_photos ||
    fail rerun_skips_done_photos "$err"
err=$("$DS_BIN" depth --height 64 --model "$M" "$IN/png_rgb8.png" -o "$OUT" --format png16,pfm --overwrite 2>&1 >/dev/null)
grep -q "1 written, 0 skipped" <<<"$err" && pass overwrite_redoes || fail overwrite_redoes "$err"

run "$IN" -o "$T/s0" --shard 0/2 --format npy 2>/dev/null
run "$IN" -o "$T/s1" --shard 1/2 --format npy 2>/dev/null
a=$(ls "$T/s0" 2>/dev/null | wc -l); b=$(ls "$T/s1" 2>/dev/null | wc -l)
[ $((a + b)) -eq 2 ] && [ -z "$(comm -12 <(ls "$T/s0") <(ls "$T/s1"))" ] && pass shards_split_the_list ||
    fail shards_split_the_list "$a + $b files"

run -r "$IN" -o "$T/g" --normalize global --format png16 2>/dev/null
[ "$(find "$T/g" -name '*.png' | wc -l)" -eq 4 ] && [ -z "$(find "$T/g" -name '.*')" ] &&
    pass global_normalization_writes_all || fail global_normalization_writes_all "$(find "$T/g")"
run "$IN/png_rgb8.png" -o "$T/f" --normalize fixed:0,1000 --side-by-side 2>/dev/null &&
    [ -f "$T/f/png_rgb8-midas_v21_small_256.png" ] && pass fixed_range_side_by_side || fail fixed_range_side_by_side "no output"

# links to directories: -r does not follow them; -L does, each directory once
# (a folder holding a link to itself once made 328 outputs of 8 photos)
L=$T/links
mkdir -p "$L/sub" "$T/elsewhere"
cp $I/png_rgb8.png "$L/a.png"
cp $I/jpeg_progressive.jpg "$L/sub/b.jpg"
cp $I/png_rgb8.png "$T/elsewhere/c.png"
ln -s . "$L/loop"
ln -s .. "$L/sub/up"
ln -s "$T/elsewhere" "$L/ext"
err=$(run -r "$L" -o "$T/lr" --format npy 2>&1); rc=$?
n=$(find "$T/lr" -name '*.npy' | wc -l)
[ $rc -eq 0 ] && [ "$n" -eq 2 ] && [ -z "$err" ] && pass recursive_skips_directory_links ||
    fail recursive_skips_directory_links "exit $rc, $n outputs: $err"
err=$(timeout 60 "$DS_BIN" depth --height 64 --model "$M" -L "$L" -o "$T/lf" --format npy 2>&1); rc=$?
n=$(find "$T/lf" -name '*.npy' | wc -l)
[ $rc -eq 1 ] && [ "$n" -eq 3 ] && [ -f "$T/lf/ext/c-midas_v21_small_256.npy" ] &&
    [ "$(grep -c 'already listed' <<<"$err")" -eq 2 ] && grep -q "3 written, 0 skipped (outputs exist), 2 failed" <<<"$err" &&
    pass follow_links_visits_each_directory_once || fail follow_links_visits_each_directory_once "exit $rc, $n outputs: $err"

DEPTHSOLVE_MODELS=${DS_MODELS:-build/models} "$DS_BIN" depth -q --height 64 --model midas_v21_small_256 \
    "$IN/png_rgb8.png" -o "$T/n" && pass model_by_name || fail model_by_name "exit $?"
expect model_name_not_fetched 1 "depthsolve fetch dpt_large_384" -- env DEPTHSOLVE_MODELS="$T/empty-store" \
    "$DS_BIN" depth --model dpt_large_384 "$IN/png_rgb8.png" -o "$T/n"
touch "$T/a_file"
expect output_not_a_directory 1 "$T/a_file" -- "$DS_BIN" depth --model "$M" "$IN/png_rgb8.png" -o "$T/a_file"
expect missing_input 1 "$T/nope.jpg" -- "$DS_BIN" depth -q --height 64 --model "$M" "$T/nope.jpg" -o "$T/n"
expect no_inputs 2 "at least one INPUT" -- "$DS_BIN" depth --model "$M" -o "$T/n"
expect bad_format 2 "--format takes" -- "$DS_BIN" depth --model "$M" --format jpg "$IN" -o "$T/n"
expect bad_shard 2 "--shard takes" -- "$DS_BIN" depth --model "$M" --shard 2/2 "$IN" -o "$T/n"
expect empty_output_path 2 "-o takes a path, not an empty one" -- "$DS_BIN" depth --model "$M" "$IN" -o ""
expect threads_past_the_limit 2 "--threads takes 1 to 1024" -- "$DS_BIN" depth --model "$M" --threads 9999 "$IN" -o "$T/n"
expect bad_normalize 2 "--normalize takes" -- "$DS_BIN" depth --model "$M" --normalize fixed:5,1 "$IN" -o "$T/n"
# -o inside the input folder: a rerun skips the photos done and does not take
# its own depth maps (a-midas_v21_small_256.png) for photos
mkdir -p "$T/same" && cp "$IN/png_rgb8.png" "$IN/jpeg_progressive.jpg" "$T/same/"
run "$T/same" -o "$T/same" 2>/dev/null
err=$(run "$T/same" -o "$T/same" 2>&1); rc=$?
n=$(find "$T/same" -type f | wc -l)
[ $rc -eq 0 ] && [ "$n" -eq 6 ] && pass output_folder_inside_the_input || fail output_folder_inside_the_input "exit $rc, $n files: $(ls "$T/same")"

# A bad photo whose name holds a newline: its error is still one line
mkdir -p "$T/nl" && printf 'not an image' >"$T/nl/bad
name.jpg"
err=$(run "$T/nl" -o "$T/nl-out" 2>&1); rc=$?
[ $rc -eq 1 ] && [ "$(grep -c . <<<"$err")" -eq 1 ] && grep -qF "$T/nl/bad?name.jpg: " <<<"$err" &&
    pass newline_in_a_name_stays_one_line || fail newline_in_a_name_stays_one_line "exit $rc: $err"

# A photo whose output name (249 characters) is within NAME_MAX while its
# temporary name would not be: the temporary's name is cut, the output written
long=$(printf 'a%.0s' $(seq 225))
mkdir -p "$T/long" && cp "$IN/png_rgb8.png" "$T/long/$long.png"
err=$("$DS_BIN" depth -q --height 64 --model "$M" "$T/long" -o "$T/long-out" --format png16,pfm 2>&1); rc=$?
[ $rc -eq 0 ] && [ -f "$T/long-out/$long-midas_v21_small_256.pfm" ] && [ -z "$(find "$T/long-out" -name '.*')" ] &&
    pass long_file_names_written || fail long_file_names_written "exit $rc: $err"

# A FIFO given as a photo, a model, a checkpoint or an input array is refused
# at once (an open for reading would wait for a writer forever)
mkfifo "$T/p.jpg" "$T/p.gguf" "$T/p.pt" "$T/p.npy"
expect fifo_photo 1 "$T/p.jpg: not a regular file" -- timeout 20 "$DS_BIN" depth -q --model "$M" "$T/p.jpg" -o "$T/po"
expect fifo_mesh_photo 1 "$T/p.jpg: not a regular file" -- timeout 20 "$DS_BIN" mesh -q --model "$M" "$T/p.jpg" -o "$T/po.glb"
expect fifo_model 1 "$T/p.gguf: not a regular file" -- timeout 20 "$DS_BIN" depth -q --model "$T/p.gguf" "$IN/png_rgb8.png" -o "$T/po"
expect fifo_info 1 "$T/p.gguf: not a regular file" -- timeout 20 "$DS_BIN" info "$T/p.gguf"
expect fifo_checkpoint 1 "$T/p.pt: not a regular file" -- timeout 20 "$DS_BIN" convert "$T/p.pt" -o "$T/po.gguf"
expect fifo_net_input 1 "$T/p.npy: not a regular file" -- timeout 20 "$DS_BIN" net --model "$M" --input "$T/p.npy" -o "$T/po.npy"

# A write that fails part-way (a file-size limit: EFBIG) fails the photo with a
# one-line error and leaves no file, in every format (a 96 x 64 photo: each
# output passes stdio's buffer, so the failing call is an fwrite, not the flush)
make_png "$T/big.png" 96 64
for fmt in npy pfm png16 png8; do
    err=$(bash -c 'trap "" XFSZ; ulimit -f 4; exec "$@"' _ "$DS_BIN" depth -q --height 64 --model "$M" \
        "$T/big.png" -o "$T/wf-$fmt" --format $fmt 2>&1); rc=$?
    left=$(find "$T/wf-$fmt" -type f 2>/dev/null)
    [ $rc -eq 1 ] && grep -q "big.png: .*File too large" <<<"$err" && [ "$(grep -c . <<<"$err")" -eq 1 ] && [ -z "$left" ] &&
        pass "failed_write_fails_the_photo_$fmt" || fail "failed_write_fails_the_photo_$fmt" "exit $rc, left '$left': $err"
done
rm -rf "$T"
