#!/usr/bin/env bash
# The MiDaS v3.1 BEiT models end to end:
#  - real torch.save checkpoints of a model's full key set (the index
#    buffers with their values, fc_norm and head included), written by
#    /usr/bin/python3 with PyTorch (bench/make_checkpoint.py): BEiT-B's (all
#    zero, in f16: 0.24 GB) converts and `info` names the model; with
#    DS_TEST_SLOW=1 also BEiT-B's with the synthetic weights, fetched from a
#    file:// mirror, converts to exactly the tensors `synth` writes, and the
#    two BEiT-L ones (0.7 GB each) convert (minutes of disk on a busy machine);
#  - the release URL of each (v3_1) in the message for a model not fetched;
#  - BEiT-B's pipeline_211x157 case through `depthsolve depth` (queued photos,
#    a 18 x 24 grid) against run.py's depth map (relative L2 <= 1e-4;
#    tests/test_pipeline.c runs BEiT-L 512's case, and BEiT-B's under ASan,
#    through the library, PNG files too).
# The sanitizer build runs the URL messages only: tests/test_convert.c
# converts BEiT-B under ASan, tests/test_pipeline.c runs it.
. "$(dirname "$0")/shell_lib.sh"
MODELS=${DS_MODELS:-build/models}
plain=1
case "$DS_BUILD" in *asan*) plain=0 ;; esac

tensors() { "$DS_BIN" info --tensors "$1" | sed -n '/^  tensors (name/,$p'; }

# make_checkpoint ARCH OUT.pt [options]
make_checkpoint() { "$PY" bench/make_checkpoint.py --arch "$1" -o "$2" "${@:3}" >/dev/null; }

if [ $plain -eq 1 ] && ! "$PY" -c 'import torch, numpy' 2>/dev/null; then
    echo "SKIP beit checkpoints: no PyTorch for $PY (Debian: python3-torch)"
elif [ $plain -eq 1 ]; then
    make_checkpoint dpt_beit_base_384 "$T/base.pt" --zeros --half &&
        "$DS_BIN" convert -q --dtype f16 "$T/base.pt" -o "$T/base.gguf" &&
        [ "$("$DS_BIN" info "$T/base.gguf" | sed -n 's/^  tensors: *//p')" = 239 ] &&
        pass beit_base_checkpoint_converts || fail beit_base_checkpoint_converts "exit $? or not 239 tensors"
    "$DS_BIN" info "$T/base.pt" | grep -q "architecture: dpt_beit_base_384" &&
        "$DS_BIN" info "$T/base.gguf" | grep -q "architecture: dpt_beit_base_384" &&
        pass info_names_beit_base || fail info_names_beit_base "no architecture line"
    rm -f "$T/base.pt" "$T/base.gguf"
    if [ -n "${DS_TEST_SLOW:-}" ]; then
        # through `fetch` from a mirror (a file:// URL): the release URL's last part, the conversion
        make_checkpoint dpt_beit_base_384 "$T/dpt_beit_base_384.pt" &&
            DEPTHSOLVE_MODEL_BASE_URL="file://$T" "$DS_BIN" fetch -q dpt_beit_base_384 --dir "$T/store" &&
            tensors "$T/store/dpt_beit_base_384.gguf" >"$T/a" && tensors "$MODELS/dpt_beit_base_384.gguf" >"$T/b" &&
            [ "$(wc -l <"$T/a")" -gt 200 ] && cmp -s "$T/a" "$T/b" &&
            pass beit_base_checkpoint_converts_to_synth || fail beit_base_checkpoint_converts_to_synth "tensors differ"
        rm -rf "$T/dpt_beit_base_384.pt" "$T/store"
        for m in dpt_beit_large_512 dpt_beit_large_384; do
            make_checkpoint $m "$T/$m.pt" --zeros --half &&
                "$DS_BIN" convert -q --dtype f16 "$T/$m.pt" -o "$T/$m.gguf" &&
                [ "$("$DS_BIN" info "$T/$m.gguf" | sed -n 's/^  tensors: *//p')" = 407 ] &&
                pass ${m}_checkpoint_converts || fail ${m}_checkpoint_converts "exit $? or not 407 tensors"
            "$DS_BIN" info "$T/$m.pt" | grep -q "architecture: $m" && pass info_names_$m || fail info_names_$m "no architecture line"
            rm -f "$T/$m.pt" "$T/$m.gguf"
        done
    else
        echo "note: DS_TEST_SLOW=1 also converts BEiT-B's synthetic checkpoint (fetched) and the BEiT-L ones"
    fi
fi

for m in dpt_beit_large_512 dpt_beit_large_384 dpt_beit_base_384; do
    expect ${m}_url_when_not_fetched 1 "releases/download/v3_1/$m.pt" -- env DEPTHSOLVE_MODELS="$T/empty" \
        "$DS_BIN" depth --model $m tests/data/reference/dpt_beit_base_384/pipeline_211x157/image.png -o "$T/n"
done

if [ $plain -eq 1 ] && has_numpy; then
    for m in dpt_beit_base_384; do # dpt_beit_large_512's: tests/test_pipeline.c
        R=tests/data/reference/$m/pipeline_211x157
        e=$("$DS_BIN" depth -q --device cpu --model "$MODELS/$m.gguf" $R/image.png -o "$T/$m" --format npy &&
            "$PY" -c 'import sys, numpy as np; d, r = np.load(sys.argv[1]), np.load(sys.argv[2]);
print("%.3g" % (np.linalg.norm(d - r) / np.linalg.norm(r)))' "$T/$m/image-$m.npy" $R/depth.npy)
        echo "    $m: depth relative L2 ${e:-none} against run.py's"
        [ -n "$e" ] && awk -v e="$e" 'BEGIN { exit !(e <= 1e-4) }' && pass ${m}_depth_matches_run_py ||
            fail ${m}_depth_matches_run_py "relative L2 ${e:-not measured} > 1e-4"
    done
else
    echo "SKIP beit depth pipelines: plain build with numpy only"
fi
rm -rf "$T"
