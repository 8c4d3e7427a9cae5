#!/usr/bin/env bash
# depthsolve convert / synth / info end to end: a checkpoint written from the
# synthetic formula converts to the very tensors `synth` writes, and bad
# inputs fail with one clear line and no output file.
. "$(dirname "$0")/shell_lib.sh"
A=midas_v21_small_256

"$DS_BIN" synth -q --arch $A -o "$T/synth.gguf" && pass synth_writes_model || fail synth_writes_model "exit $?"

if has_numpy; then
    # the raw state_dict as a safetensors file (keys and shapes of the real model)
    "$PY" - "$T/ckpt.safetensors" <<'PYEOF'
import json, struct, sys
sys.path.insert(0, "bench")
import synth_weights as sw
rows = sw.read_keys("tests/data/reference/midas_v21_small_256/keys.tsv")
header, blobs, off = {}, [], 0
for key, dtype, shape in rows:
    b = sw.value(key, shape).tobytes()
    header[key] = {"dtype": "I64" if dtype == "int64" else "F32", "shape": list(shape),
                   "data_offsets": [off, off + len(b)]}
    blobs.append(b); off += len(b)
h = json.dumps(header).encode()
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<Q", len(h))); f.write(h); f.write(b"".join(blobs))
PYEOF
    "$DS_BIN" convert -q "$T/ckpt.safetensors" -o "$T/conv.gguf" &&
        "$DS_BIN" info --tensors "$T/synth.gguf" | sed -n '/^  tensors (name/,$p' >"$T/a" &&
        "$DS_BIN" info --tensors "$T/conv.gguf" | sed -n '/^  tensors (name/,$p' >"$T/b" &&
        [ "$(wc -l <"$T/a")" -gt 100 ] && cmp -s "$T/a" "$T/b" &&
        pass convert_equals_synth || fail convert_equals_synth "tensors differ"
    "$DS_BIN" info "$T/ckpt.safetensors" | grep -q "architecture: $A" &&
        pass info_detects_checkpoint_arch || fail info_detects_checkpoint_arch "no arch line"
    expect convert_wrong_arch 1 "missing tensor 'pretrained.model" -- \
        "$DS_BIN" convert -q --arch dpt_large_384 "$T/ckpt.safetensors" -o "$T/x.gguf"
    [ ! -e "$T/x.gguf" ] && pass wrong_arch_leaves_no_file || fail wrong_arch_leaves_no_file "file exists"
    # -o naming the checkpoint itself (here through a second path): refused, the checkpoint kept
    cp "$T/ckpt.safetensors" "$T/same.safetensors" && sum=$(md5sum <"$T/same.safetensors")
    expect convert_onto_its_input 1 "the output is the checkpoint itself" -- \
        "$DS_BIN" convert -q "$T/same.safetensors" -o "$T/./same.safetensors"
    [ "$(md5sum <"$T/same.safetensors")" = "$sum" ] && pass convert_keeps_its_input ||
        fail convert_keeps_its_input "the checkpoint changed"
else
    echo "SKIP convert_equals_synth: no numpy for $PY"
fi

"$DS_BIN" info "$T/synth.gguf" | grep -q "depthsolve.net_size *256" &&
    pass info_shows_metadata || fail info_shows_metadata "metadata missing"

expect convert_missing_file 1 "$T/nope.pt: cannot open" -- "$DS_BIN" convert "$T/nope.pt" -o "$T/y.gguf"
printf 'hello, I am not a checkpoint' >"$T/text.pt"
expect convert_text_file 1 "$T/text.pt: not a PyTorch checkpoint" -- "$DS_BIN" convert "$T/text.pt" -o "$T/y.gguf"
: >"$T/empty.pt"
expect convert_empty_file 1 "$T/empty.pt: empty file" -- "$DS_BIN" convert "$T/empty.pt" -o "$T/y.gguf"
expect convert_gguf_input 1 "already a GGUF file" -- "$DS_BIN" convert "$T/synth.gguf" -o "$T/y.gguf"
[ ! -e "$T/y.gguf" ] && pass failed_convert_leaves_no_file || fail failed_convert_leaves_no_file "y.gguf exists"
expect convert_unwritable_dir 1 "$T/no/such/dir/z.gguf" -- "$DS_BIN" synth --arch $A -o "$T/no/such/dir/z.gguf"
expect convert_no_output 2 "-o OUT.gguf is required" -- "$DS_BIN" convert "$T/text.pt"
expect synth_bad_arch 2 "unknown architecture 'midas_v4'" -- "$DS_BIN" synth --arch midas_v4 -o "$T/y.gguf"
expect convert_bad_dtype 2 "--dtype takes f32 or f16" -- "$DS_BIN" convert --dtype q4 "$T/text.pt" -o "$T/y.gguf"
expect info_missing_file 1 "$T/nope.gguf" -- "$DS_BIN" info "$T/nope.gguf"
expect unknown_command 2 "unknown command 'frobnicate'" -- "$DS_BIN" frobnicate
rm -rf "$T"
