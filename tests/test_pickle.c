/*
 * test_pickle.c: the pickle VM on byte strings built here: every opcode
 * family, the allow-list, torch persistent ids and rebuilds, the hard
 * limits, and the state_dict flattening and view checks on top of it.
 */
#include "tests/test.h"

#include "base/error.h"
#include "weights_tools/readers/pickle.h"
#include "weights_tools/readers/torch_common.h"

/* pickle.dumps(obj, protocol=p) by CPython 3.11, for
 * obj = {'a': [1, -2, 3.5, None, True, False, 'x', b'yz', (1, 2)], 'big': 2**40,
 *        'neg': -2**63, 'huge': 2**70, 'u': 'é€\U0001F600'}
 * and  {'s': {3}, 'f': frozenset([4]), 'ba': bytearray(b'\x00\xff'), 'eb': b'',
 *       'od': collections.OrderedDict([('k', 1)])},
 * and  {'d': torch.device('cuda', 0), 'dt': torch.float16, 'np': numpy.float64(0.5),
 *       'ni': numpy.int64(3), 'cpu': torch.device('cpu')}; octal escapes throughout. */
static const char PLAIN_P0[] =
    "(dp0\012Va\012p1\012(lp2\012I1\012aI-2\012aF3.5\012aNaI01\012aI00\012aVx\012p3\012ac_cod"
    "ecs\012encode\012p4\012(Vyz\012p5\012Vlatin1\012p6\012tp7\012Rp8\012a(I1\012I2\012tp9"
    "\012asVbig\012p10\012L1099511627776L\012sVneg\012p11\012L-9223372036854775808L\012sVhuge"
    "\012p12\012L1180591620717411303424L\012sVu\012p13\012V\351\134u20ac\134U0001f600\012p14"
    "\012s.";
static const char PLAIN_P1[] =
    "}q\000(X\001\000\000\000aq\001]q\002(K\001J\376\377\377\377G@\014\000\000\000\000\000"
    "\000NI01\012I00\012X\001\000\000\000xq\003c_codecs\012encode\012q\004(X\002\000\000\000y"
    "zq\005X\006\000\000\000latin1q\006tq\007Rq\010(K\001K\002tq\011eX\003\000\000\000bigq"
    "\012L1099511627776L\012X\003\000\000\000negq\013L-9223372036854775808L\012X\004\000\000"
    "\000hugeq\014L1180591620717411303424L\012X\001\000\000\000uq\015X\011\000\000\000\303"
    "\251\342\202\254\360\237\230\200q\016u.";
static const char PLAIN_P2[] =
    "\200\002}q\000(X\001\000\000\000aq\001]q\002(K\001J\376\377\377\377G@\014\000\000\000"
    "\000\000\000N\210\211X\001\000\000\000xq\003c_codecs\012encode\012q\004X\002\000\000\000"
    "yzq\005X\006\000\000\000latin1q\006\206q\007Rq\010K\001K\002\206q\011eX\003\000\000\000b"
    "igq\012\212\006\000\000\000\000\000\001X\003\000\000\000negq\013\212\010\000\000\000\000"
    "\000\000\000\200X\004\000\000\000hugeq\014\212\011\000\000\000\000\000\000\000\000@X\001"
    "\000\000\000uq\015X\011\000\000\000\303\251\342\202\254\360\237\230\200q\016u.";
static const char PLAIN_P3[] =
    "\200\003}q\000(X\001\000\000\000aq\001]q\002(K\001J\376\377\377\377G@\014\000\000\000"
    "\000\000\000N\210\211X\001\000\000\000xq\003C\002yzq\004K\001K\002\206q\005eX\003\000"
    "\000\000bigq\006\212\006\000\000\000\000\000\001X\003\000\000\000negq\007\212\010\000"
    "\000\000\000\000\000\000\200X\004\000\000\000hugeq\010\212\011\000\000\000\000\000\000"
    "\000\000@X\001\000\000\000uq\011X\011\000\000\000\303\251\342\202\254\360\237\230\200q"
    "\012u.";
static const char PLAIN_P4[] =
    "\200\004\225o\000\000\000\000\000\000\000}\224(\214\001a\224]\224(K\001J\376\377\377\377"
    "G@\014\000\000\000\000\000\000N\210\211\214\001x\224C\002yz\224K\001K\002\206\224e\214"
    "\003big\224\212\006\000\000\000\000\000\001\214\003neg\224\212\010\000\000\000\000\000"
    "\000\000\200\214\004huge\224\212\011\000\000\000\000\000\000\000\000@\214\001u\224\214"
    "\011\303\251\342\202\254\360\237\230\200\224u.";
static const char PLAIN_P5[] =
    "\200\005\225o\000\000\000\000\000\000\000}\224(\214\001a\224]\224(K\001J\376\377\377\377"
    "G@\014\000\000\000\000\000\000N\210\211\214\001x\224C\002yz\224K\001K\002\206\224e\214"
    "\003big\224\212\006\000\000\000\000\000\001\214\003neg\224\212\010\000\000\000\000\000"
    "\000\000\200\214\004huge\224\212\011\000\000\000\000\000\000\000\000@\214\001u\224\214"
    "\011\303\251\342\202\254\360\237\230\200\224u.";
static const char SETS_P2[] =
    "\200\002}q\000(X\001\000\000\000sq\001c__builtin__\012set\012q\002]q\003K\003a\205q\004R"
    "q\005X\001\000\000\000fq\006c__builtin__\012frozenset\012q\007]q\010K\004a\205q\011Rq"
    "\012X\002\000\000\000baq\013c__builtin__\012bytearray\012q\014c_codecs\012encode\012q"
    "\015X\003\000\000\000\000\303\277q\016X\006\000\000\000latin1q\017\206q\020Rq\021\205q"
    "\022Rq\023X\002\000\000\000ebq\024c__builtin__\012bytes\012q\025)Rq\026X\002\000\000\000"
    "odq\027ccollections\012OrderedDict\012q\030)Rq\031X\001\000\000\000kq\032K\001su.";
static const char SETS_P4[] =
    "\200\004\225t\000\000\000\000\000\000\000}\224(\214\001s\224\217\224(K\003\220\214\001f"
    "\224(K\004\221\224\214\002ba\224\214\010builtins\224\214\011bytearray\224\223\224C\002"
    "\000\377\224\205\224R\224\214\002eb\224C\000\224\214\002od\224\214\013collections\224"
    "\214\013OrderedDict\224\223\224)R\224\214\001k\224K\001su.";
static const char SETS_P5[] =
    "\200\005\225^\000\000\000\000\000\000\000}\224(\214\001s\224\217\224(K\003\220\214\001f"
    "\224(K\004\221\224\214\002ba\224\226\002\000\000\000\000\000\000\000\000\377\224\214\002"
    "eb\224C\000\224\214\002od\224\214\013collections\224\214\013OrderedDict\224\223\224)R"
    "\224\214\001k\224K\001su.";
static const char EXTRAS_P2[] =
    "\200\002}q\000(X\001\000\000\000dq\001ctorch\012device\012q\002X\004\000\000\000cudaq"
    "\003K\000\206q\004Rq\005X\002\000\000\000dtq\006ctorch\012float16\012q\007X\002\000\000"
    "\000npq\010cnumpy.core.multiarray\012scalar\012q\011cnumpy\012dtype\012q\012X\002\000"
    "\000\000f8q\013\211\210\207q\014Rq\015(K\003X\001\000\000\000<q\016NNNJ\377\377\377\377J"
    "\377\377\377\377K\000tq\017bc_codecs\012encode\012q\020X\011\000\000\000\000\000\000\000"
    "\000\000\303\240\077q\021X\006\000\000\000latin1q\022\206q\023Rq\024\206q\025Rq\026X\002"
    "\000\000\000niq\027h\011h\012X\002\000\000\000i8q\030\211\210\207q\031Rq\032(K\003h\016N"
    "NNJ\377\377\377\377J\377\377\377\377K\000tq\033bh\020X\010\000\000\000\003\000\000\000"
    "\000\000\000\000q\034h\022\206q\035Rq\036\206q\037Rq X\003\000\000\000cpuq!h\002X\003"
    "\000\000\000cpuq\042\205q#Rq$u.";

static ds_pickle *pk;
static const ds_pk_value *root;

/* Runs one pickle from an exactly-sized copy (so ASan sees any overread). */
static ds_status load_limited(const char *bytes, size_t n, const ds_pickle_limits *limits) {
    ds_pickle_free(pk);
    pk = NULL;
    root = NULL;
    DS_TRY(ds_pickle_new("t.pkl", limits, &pk));
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, bytes, n);
    size_t end = 0;
    ds_status s = ds_pickle_run(pk, copy, n, 0, &end, &root);
    free(copy);
    if (s == DS_OK && end != n)
        return ds_fail(DS_ERR_INTERNAL, "STOP at %zu of %zu", end, n);
    return s;
}

#define PK(lit) lit, sizeof(lit) - 1
#define LOAD(lit) load_limited(PK(lit), NULL)

static const ds_pk_value *get(const ds_pk_value *dict, const char *key) {
    return ds_pk_dict_get(dict, key);
}

static int is_int(const ds_pk_value *v, int64_t want) {
    return v && v->kind == DS_PK_INT && v->u.i == want;
}

static int is_blob(const ds_pk_value *v, ds_pk_kind kind, const char *bytes, size_t n) {
    return v && v->kind == kind && v->u.s.len == n && memcmp(v->u.s.ptr, bytes, n) == 0;
}

static void check_plain(void) {
    CHECK(root && root->kind == DS_PK_DICT && root->u.seq.n == 10);
    const ds_pk_value *a = get(root, "a");
    CHECK(a && a->kind == DS_PK_LIST && a->u.seq.n == 9);
    ds_pk_value *const *it = a->u.seq.items;
    CHECK(is_int(it[0], 1) && is_int(it[1], -2));
    CHECK(it[2]->kind == DS_PK_FLOAT && it[2]->u.f == 3.5);
    CHECK(it[3]->kind == DS_PK_NONE);
    CHECK(it[4]->kind == DS_PK_BOOL && it[4]->u.b == 1);
    CHECK(it[5]->kind == DS_PK_BOOL && it[5]->u.b == 0);
    CHECK(is_blob(it[6], DS_PK_STR, "x", 1));
    CHECK(is_blob(it[7], DS_PK_BYTES, "yz", 2));
    CHECK(it[8]->kind == DS_PK_TUPLE && it[8]->u.seq.n == 2 && is_int(it[8]->u.seq.items[1], 2));
    CHECK(is_int(get(root, "big"), (int64_t)1 << 40));
    CHECK(is_int(get(root, "neg"), INT64_MIN));
    CHECK(is_blob(get(root, "huge"), DS_PK_BIGINT, "\0\0\0\0\0\0\0\0\100", 9));
    CHECK(is_blob(get(root, "u"), DS_PK_STR, "\303\251\342\202\254\360\237\230\200", 9));
}

TEST(plain_values_protocols_0_to_5) {
    static const struct {
        const char *bytes;
        size_t len;
    } all[] = {{PK(PLAIN_P0)}, {PK(PLAIN_P1)}, {PK(PLAIN_P2)},
               {PK(PLAIN_P3)}, {PK(PLAIN_P4)}, {PK(PLAIN_P5)}};
    for (size_t i = 0; i < 6 && !test_failed_now; i++) {
        CHECK_OK(load_limited(all[i].bytes, all[i].len, NULL));
        check_plain();
        CHECK_MSG(!test_failed_now, "protocol %zu", i);
    }
}

static void check_sets(int has_empty_bytes) {
    const ds_pk_value *s = get(root, "s"), *f = get(root, "f"), *od = get(root, "od");
    CHECK(s && s->kind == DS_PK_LIST && s->u.seq.n == 1 && is_int(s->u.seq.items[0], 3));
    CHECK(f && f->kind == DS_PK_LIST && f->u.seq.n == 1 && is_int(f->u.seq.items[0], 4));
    CHECK(is_blob(get(root, "ba"), DS_PK_BYTES, "\0\377", 2));
    CHECK(!has_empty_bytes || is_blob(get(root, "eb"), DS_PK_BYTES, "", 0));
    CHECK(od && od->kind == DS_PK_DICT && is_int(get(od, "k"), 1));
}

TEST(sets_bytearrays_ordered_dicts) {
    CHECK_OK(LOAD(SETS_P2));
    check_sets(1);
    CHECK_OK(LOAD(SETS_P4));
    check_sets(1);
    CHECK_OK(LOAD(SETS_P5));
    check_sets(1);
}

TEST(devices_dtypes_numpy_scalars) {
    CHECK_OK(LOAD(EXTRAS_P2));
    const ds_pk_value *d = get(root, "d"), *cpu = get(root, "cpu"), *dt = get(root, "dt");
    CHECK(d && d->kind == DS_PK_OPAQUE && strcmp(d->u.opaque, "torch.device") == 0);
    CHECK(cpu && cpu->kind == DS_PK_OPAQUE);
    CHECK(dt && dt->kind == DS_PK_GLOBAL && strcmp(dt->u.global.name, "torch.dtype") == 0);
    const ds_pk_value *np = get(root, "np"), *ni = get(root, "ni");
    CHECK(np && np->kind == DS_PK_OPAQUE && strcmp(np->u.opaque, "numpy scalar") == 0);
    CHECK(ni && ni->kind == DS_PK_OPAQUE);
}

TEST(text_opcodes) {
    CHECK_OK(LOAD("S'a\\n\\x41\\'b\\101\\q'\n."));
    CHECK(is_blob(root, DS_PK_STR, "a\nA'bA\\q", 8));
    CHECK_OK(LOAD("S\"\"\n."));
    CHECK(is_blob(root, DS_PK_STR, "", 0));
    CHECK_OK(LOAD("V\\\\u0041\\u0042\\U0001F600\351\n."));
    CHECK(is_blob(root, DS_PK_STR, "\\\\u0041B\360\237\230\200\303\251", 14));
    CHECK_OK(LOAD("I01\n."));
    CHECK(root->kind == DS_PK_BOOL && root->u.b == 1);
    CHECK_OK(LOAD("I-42\n."));
    CHECK(is_int(root, -42));
    CHECK_OK(LOAD("I123456789012345678901234567890\n."));
    CHECK(root->kind == DS_PK_BIGINT);
    CHECK_OK(LOAD("L-1180591620717411303424L\n."));
    CHECK(is_blob(root, DS_PK_BIGINT, "\0\0\0\0\0\0\0\0\300", 9));
    CHECK_OK(LOAD("L9223372036854775807L\n."));
    CHECK(is_int(root, INT64_MAX));
    CHECK_OK(LOAD("L9223372036854775808\n."));
    CHECK(is_blob(root, DS_PK_BIGINT, "\0\0\0\0\0\0\0\200\0", 9));
    CHECK_OK(LOAD("F-1.5e3\n."));
    CHECK(root->kind == DS_PK_FLOAT && root->u.f == -1500.0);
    CHECK_OK(LOAD("(I1\nI2\nl(Va\nI3\nd(I4\nt."));
    CHECK(root->kind == DS_PK_TUPLE && is_int(root->u.seq.items[0], 4));
}

TEST(binary_ints_and_longs) {
    CHECK_OK(LOAD("J\377\377\377\377."));
    CHECK(is_int(root, -1));
    CHECK_OK(LOAD("M\377\377."));
    CHECK(is_int(root, 65535));
    CHECK_OK(LOAD("\212\000."));
    CHECK(is_int(root, 0));
    CHECK_OK(LOAD("\212\001\377."));
    CHECK(is_int(root, -1));
    CHECK_OK(LOAD("\212\011\005\000\000\000\000\000\000\000\000.")); /* not minimal, still 5 */
    CHECK(is_int(root, 5));
    CHECK_OK(LOAD("\212\012\154\374\234\106\371\040\152\250\120\031.")); /* torch's magic */
    CHECK(is_blob(root, DS_PK_BIGINT, "\154\374\234\106\371\040\152\250\120\031", 10));
    CHECK_OK(LOAD("\213\002\000\000\000\000\200."));
    CHECK(is_int(root, -32768));
    CHECK_OK(LOAD("G\300\000\000\000\000\000\000\000."));
    CHECK(root->kind == DS_PK_FLOAT && root->u.f == -2.0);
}

TEST(blobs_of_every_width) {
    CHECK_OK(LOAD("\200\004\215\002\000\000\000\000\000\000\000hi."));
    CHECK(is_blob(root, DS_PK_STR, "hi", 2));
    CHECK_OK(LOAD("\200\004\216\001\000\000\000\000\000\000\000\000."));
    CHECK(is_blob(root, DS_PK_BYTES, "\0", 1));
    CHECK_OK(LOAD("B\003\000\000\000a\000b."));
    CHECK(is_blob(root, DS_PK_BYTES, "a\0b", 3));
    CHECK_OK(LOAD("U\002ok."));
    CHECK(is_blob(root, DS_PK_STR, "ok", 2));
    CHECK_OK(LOAD("T\001\000\000\000z."));
    CHECK(is_blob(root, DS_PK_STR, "z", 1));
    CHECK_OK(LOAD("\200\005\226\001\000\000\000\000\000\000\000x\230."));
    CHECK(is_blob(root, DS_PK_BYTES, "x", 1));
}

TEST(memo_marks_and_sharing) {
    CHECK_OK(LOAD("]q\000h\000\206.")); /* ([], same []) */
    CHECK(root->kind == DS_PK_TUPLE && root->u.seq.items[0] == root->u.seq.items[1]);
    CHECK_OK(LOAD("]r\001\000\000\000j\001\000\000\000\206."));
    CHECK(root->u.seq.items[0] == root->u.seq.items[1]);
    CHECK_OK(LOAD("]p7\nNg7\n\206."));
    CHECK(root->u.seq.items[0]->kind == DS_PK_NONE && root->u.seq.items[1]->kind == DS_PK_LIST);
    CHECK_OK(LOAD("\200\004]\224}\224h\000\206.")); /* MEMOIZE counts entries */
    CHECK(root->u.seq.items[0]->kind == DS_PK_DICT && root->u.seq.items[1]->kind == DS_PK_LIST);
    CHECK_OK(LOAD("]q\000h\000a.")); /* a list holding itself */
    CHECK(root->kind == DS_PK_LIST && root->u.seq.items[0] == root);
    CHECK_OK(LOAD("K\001(NN1K\0020(N2t\205."));
    CHECK(root->kind == DS_PK_TUPLE && root->u.seq.n == 1);
    CHECK(root->u.seq.items[0]->u.seq.n == 2);
    CHECK_OK(LOAD("K\001(0."));                /* POP of an empty frame drops the mark */
    CHECK(is_int(root, 1));
    CHECK_OK(LOAD("}(K\001K\002K\003K\004u."));
    CHECK(root->u.seq.n == 4 && is_int(root->u.seq.items[3], 4));
}

TEST(several_pickles_in_one_buffer) {
    static const uint8_t two[] = "\200\002K\001.\200\002]q\000h\000\206.";
    ds_pickle_free(pk);
    pk = NULL;
    CHECK_OK(ds_pickle_new("two.pkl", NULL, &pk));
    const ds_pk_value *a, *b;
    size_t end;
    CHECK_OK(ds_pickle_run(pk, two, sizeof two - 1, 0, &end, &a));
    CHECK(end == 5 && is_int(a, 1));
    CHECK_OK(ds_pickle_run(pk, two, sizeof two - 1, end, &end, &b));
    CHECK(end == sizeof two - 1 && b->kind == DS_PK_TUPLE && is_int(a, 1));
}

/* ---- torch ------------------------------------------------------------------- */

#define PID_HALF_7 "(\214\007storagectorch\nHalfStorage\n\214\0011\214\003cpuK\007tQ"
#define HOOKS "ccollections\nOrderedDict\n)R"
#define TENSOR_V2(pid) \
    "ctorch._utils\n_rebuild_tensor_v2\n(" pid "K\001K\002K\003\206K\003K\001\206\211" HOOKS "tR"

static void check_half_tensor(const ds_pk_value *t) {
    CHECK(t && t->kind == DS_PK_TENSOR);
    const ds_pk_tensor *x = &t->u.tensor;
    const ds_pk_storage *st = &x->storage->u.storage;
    CHECK(st->dtype == DS_F16 && strcmp(st->key, "1") == 0 && st->numel == 7);
    CHECK(st->view_offset == 0 && st->view_numel == 7);
    CHECK(x->offset == 1 && x->ndim == 2 && x->size[0] == 2 && x->size[1] == 3);
    CHECK(x->stride[0] == 3 && x->stride[1] == 1);
}

TEST(tensor_rebuilds) {
    CHECK_OK(LOAD("\200\002" TENSOR_V2(PID_HALF_7) "."));
    check_half_tensor(root);
    CHECK(ds_pickle_storage_count(pk) == 1 && ds_pickle_storage(pk, 0)->numel == 7);
    CHECK_OK(LOAD("\200\002ctorch._utils\n_rebuild_parameter\n(" TENSOR_V2(PID_HALF_7)
                  "\210" HOOKS "tR."));
    check_half_tensor(root);
    CHECK_OK(LOAD("\200\002ctorch._utils\n_rebuild_tensor\n(" PID_HALF_7
                  "K\001ctorch\nSize\n(K\002K\003t\205RK\003K\001\206tR."));
    check_half_tensor(root);
    CHECK_OK(LOAD("\200\002ctorch._tensor\n_rebuild_from_type_v2\n("
                  "ctorch._utils\n_rebuild_tensor_v2\nctorch\nTensor\n"
                  "(" PID_HALF_7 "K\001K\002K\003\206K\003K\001\206\211" HOOKS "t}tR."));
    check_half_tensor(root);
    CHECK_OK(LOAD("\200\002ctorch.tensor\n_rebuild_from_type_v2\n("
                  "ctorch._utils\n_rebuild_tensor_v2\nctorch.nn.parameter\nParameter\n"
                  "(" PID_HALF_7 "K\001K\002K\003\206K\003K\001\206\211" HOOKS "tNtR."));
    check_half_tensor(root);
    CHECK_OK(LOAD("\200\002ctorch._utils\n_rebuild_tensor_v2\n(" PID_HALF_7
                  "K\001K\002K\003\206K\003K\001\206\211" HOOKS "NtRNN\206b."));
    CHECK(root->kind == DS_PK_TENSOR); /* BUILD on a tensor: state ignored */
}

TEST(storage_persistent_ids) {
    CHECK_OK(LOAD("(\214\007storagectorch.cuda\nLongStorage\n\214\0019\214\006cuda:0K\020"
                  "(\214\004viewK\002K\003tt" "Q."));
    CHECK(root->kind == DS_PK_STORAGE);
    const ds_pk_storage *st = &root->u.storage;
    CHECK(st->dtype == DS_I64 && strcmp(st->key, "9") == 0 && st->numel == 16);
    CHECK(st->view_offset == 2 && st->view_numel == 3);
    CHECK_OK(LOAD("(\214\007storagectorch\nUntypedStorage\nK\005\214\003cpuK\000NtQ."));
    CHECK(root->u.storage.dtype == DS_U8 && strcmp(root->u.storage.key, "5") == 0);
    CHECK_OK(LOAD("(C\007storagectorch\nBoolStorage\n\214\001k\214\003cpuK\000tQ."));
    CHECK(root->u.storage.dtype == DS_BOOL);
}

/* ---- refusals ------------------------------------------------------------------ */

typedef struct bad {
    const char *bytes;
    size_t len;
    ds_status status;
    const char *needle;
} bad;

#define ONLY "' (only tensor and state_dict types are allowed)"

static const bad REFUSED[] = {
    {PK("\200\002cos\nsystem\n\214\002id\205R."), DS_ERR_UNSAFE,
     "t.pkl: refusing pickle global 'os.system" ONLY " at byte 2 (opcode GLOBAL)"},
    {PK("\200\002cbuiltins\neval\n)R."), DS_ERR_UNSAFE, "'builtins.eval" ONLY},
    {PK("\200\002c__builtin__\neval\n)R."), DS_ERR_UNSAFE, "'__builtin__.eval" ONLY},
    {PK("\200\002csubprocess\nPopen\n)R."), DS_ERR_UNSAFE, "'subprocess.Popen" ONLY},
    {PK("\200\002cposix\nsystem\n)R."), DS_ERR_UNSAFE, "'posix.system" ONLY},
    {PK("\200\002cnt\nsystem\n)R."), DS_ERR_UNSAFE, "'nt.system" ONLY},
    {PK("\200\002cbuiltins\ngetattr\n)R."), DS_ERR_UNSAFE, "'builtins.getattr" ONLY},
    {PK("\200\002cbuiltins\n__import__\n)R."), DS_ERR_UNSAFE, "'builtins.__import__" ONLY},
    {PK("\200\002ctorch\nload\n)R."), DS_ERR_UNSAFE, "'torch.load" ONLY},
    {PK("\200\002ctorch.serialization\nload\n)R."), DS_ERR_UNSAFE, "'torch.serialization.load"},
    {PK("\200\002ctorch.storage\n_load_from_bytes\n)R."), DS_ERR_UNSAFE,
     "'torch.storage._load_from_bytes"},
    {PK("\200\002ccopyreg\n_reconstructor\n)R."), DS_ERR_UNSAFE, "'copyreg._reconstructor"},
    {PK("\200\002ccollections\ndefaultdict\n)R."), DS_ERR_UNSAFE, "'collections.defaultdict"},
    {PK("\200\002c__main__\nNet\n)\201."), DS_ERR_UNSAFE, "'__main__.Net"},
    {PK("\200\002ctorch.nn.modules.conv\nConv2d\n)\201."), DS_ERR_UNSAFE,
     "'torch.nn.modules.conv.Conv2d"},
    {PK("\200\002ctorch\nStorage\n."), DS_ERR_UNSAFE, "'torch.Storage" ONLY},
    {PK("\200\004\214\002os\214\006system\223)R."), DS_ERR_UNSAFE,
     "'os.system" ONLY " at byte 14 (opcode STACK_GLOBAL)"},
    {PK("\200\004\214\003o\ns\214\002x'\223."), DS_ERR_UNSAFE, "'o\\x0as.x\\x27" ONLY},
    {PK("(ios\nsystem\n."), DS_ERR_UNSAFE, "'os.system" ONLY " at byte 1 (opcode INST)"},
    {PK("\200\002\202\001."), DS_ERR_UNSAFE, "extension registry"},
    {PK("\200\002\204\001\000\000\000."), DS_ERR_UNSAFE, "extension registry"},
    /* allowed globals used as something else */
    {PK("\200\002ctorch\nFloatStorage\n)R."), DS_ERR_UNSAFE,
     "refusing to call pickle global 'torch.FloatStorage' (allowed only as an argument)"},
    {PK("\200\002ctorch\nTensor\n)R."), DS_ERR_UNSAFE,
     "refusing to call pickle global 'torch.Tensor'"},
    {PK("\200\002ctorch\nfloat32\n)R."), DS_ERR_UNSAFE,
     "refusing to call pickle global 'torch.dtype'"},
    {PK("\200\002])R."), DS_ERR_FORMAT, "call of a list (only allowed globals can be called)"},
    {PK("\200\002\214\001x)R."), DS_ERR_FORMAT, "call of a str"},
    {PK("\200\002ccollections\nOrderedDict\n]R."), DS_ERR_FORMAT, "are a list, not a tuple"},
    {PK("\200\002ctorch._utils\n_rebuild_tensor_v2\n)\201."), DS_ERR_FORMAT,
     "NEWOBJ of torch._utils._rebuild_tensor_v2"},
    {PK("\200\002c_codecs\nencode\n\214\002\342\202\214\006latin1\206R."), DS_ERR_FORMAT,
     "not valid UTF-8"},
    {PK("\200\002c_codecs\nencode\n\214\003\342\202\254\214\006latin1\206R."), DS_ERR_FORMAT,
     "beyond latin-1"},
    {PK("\200\002c_codecs\nencode\n\214\001a\214\004utf8\206R."), DS_ERR_UNSUPPORTED,
     "other than latin1"},
    {PK("\200\002ctorch._tensor\n_rebuild_from_type_v2\n(ctorch._utils\n_rebuild_tensor_v2\n"
        "ccollections\nOrderedDict\n)NtR."),
     DS_ERR_UNSAFE, "with type 'collections.OrderedDict' (only torch.Tensor"},
    {PK("\200\002ctorch._tensor\n_rebuild_from_type_v2\n(ccollections\nOrderedDict\n"
        "ctorch\nTensor\n)NtR."),
     DS_ERR_UNSAFE, "with function 'collections.OrderedDict'"},
    {PK("\200\002ctorch._tensor\n_rebuild_from_type_v2\n(ctorch._utils\n_rebuild_tensor_v2\n"
        "ctorch\nSize\n)NtR."),
     DS_ERR_UNSAFE, "with type 'torch.Size'"},
    {PK("\200\002ctorch._utils\n_rebuild_parameter\n(K\001\210NtR."), DS_ERR_FORMAT,
     "Parameter of a int, not a tensor"},
    {PK("\200\002ctorch._utils\n_rebuild_tensor_v2\n(K\001K\002tR."), DS_ERR_FORMAT,
     "called with 2 arguments"},
    {PK("\200\002ctorch._utils\n_rebuild_tensor_v2\n(NK\000)))\211NtR."), DS_ERR_FORMAT,
     "tensor built on a None"},
    {PK("\200\002ctorch._utils\n_rebuild_tensor\n(" PID_HALF_7 "K\000(K\001K\001K\001K\001K\001"
        "K\001K\001K\001K\001t(K\001K\001K\001K\001K\001K\001K\001K\001K\001ttR."),
     DS_ERR_UNSUPPORTED, "tensor with 9 dimensions"},
    {PK("\200\002ctorch._utils\n_rebuild_tensor\n(" PID_HALF_7 "K\000K\001\205)tR."),
     DS_ERR_FORMAT, "tensor has 1 sizes but 0 strides"},
    {PK("\200\002ctorch._utils\n_rebuild_tensor\n(" PID_HALF_7 "K\000G\000\000\000\000\000\000"
        "\000\000\205)tR."),
     DS_ERR_FORMAT, "tensor size holds a float"},
    {PK("\200\002\211Nb."), DS_ERR_FORMAT, "BUILD on a bool"},
    {PK("\200\002ctorch._utils\n_rebuild_tensor\n(" PID_HALF_7 "K\000\212\011\000\000\000\000\000"
        "\000\000\200\000\205)tR."),
     DS_ERR_FORMAT, "tensor size holds a big int, not an int"},
    /* persistent ids */
    {PK("\200\002(\214\006moduleNNNtQ."), DS_ERR_FORMAT,
     "persistent id of type 'module' (only 'storage' is supported)"},
    {PK("Pfoo\n."), DS_ERR_FORMAT, "persistent id is a str, not a ('storage', ...) tuple"},
    {PK("\200\002]Q."), DS_ERR_FORMAT, "persistent id is a list"},
    {PK("\200\002(\214\007storagectorch\nFloatStorage\n\214\0010\214\003cputQ."), DS_ERR_FORMAT,
     "storage persistent id has 4 fields"},
    {PK("\200\002(\214\007storageccollections\nOrderedDict\n\214\0010\214\003cpuK\001tQ."),
     DS_ERR_FORMAT, "names a collections.OrderedDict, not a storage type"},
    {PK("\200\002(\214\007storagectorch\nFloatStorage\n\214\0010\214\003cpuJ\377\377\377\377tQ."),
     DS_ERR_FORMAT, "storage size is not a non-negative int"},
    {PK("\200\002(\214\007storagectorch\nFloatStorage\n\214\000\214\003cpuK\001tQ."),
     DS_ERR_FORMAT, "storage key is a str, not a non-empty str"},
    {PK("\200\002(\214\007storagectorch\nFloatStorage\n\214\0010NK\001tQ."), DS_ERR_FORMAT,
     "storage location is a None"},
    {PK("\200\002(\214\007storagectorch\nFloatStorage\n\214\0010\214\003cpuK\010"
        "(\214\001vK\006K\003ttQ."),
     DS_ERR_FORMAT, "storage view 'v' [6, +3) is outside storage '0' of 8 elements"},
    {PK("\200\002(\214\007storagectorch\nComplexDoubleStorage\n."), DS_ERR_UNSUPPORTED,
     "'torch.ComplexDoubleStorage' is not supported"},
    {PK("\200\002ctorch._utils\n_rebuild_qtensor\n."), DS_ERR_UNSUPPORTED, "quantized tensors"},
    /* structure */
    {PK(""), DS_ERR_FORMAT, "t.pkl: truncated: pickle ends without STOP at byte 0"},
    {PK("\200\002N"), DS_ERR_FORMAT, "pickle ends without STOP at byte 3"},
    {PK("\200\002."), DS_ERR_FORMAT, "pickle stack underflow at byte 2 (opcode STOP)"},
    {PK("\200\006N."), DS_ERR_UNSUPPORTED, "pickle protocol 6 (at most 5)"},
    {PK("\200\002}\377."), DS_ERR_FORMAT, "unknown pickle opcode 0xff at byte 3"},
    {PK("\200\005\227."), DS_ERR_UNSUPPORTED, "out-of-band buffers"},
    {PK("\200\002}Na."), DS_ERR_FORMAT, "APPEND on a dict"},
    {PK("\200\002]NNs."), DS_ERR_FORMAT, "SETITEM on a list"},
    {PK("\200\002}(Nu."), DS_ERR_FORMAT, "odd number of items for a dict"},
    {PK("\200\002(N(Nd."), DS_ERR_FORMAT, "odd number of items for a dict"},
    {PK("\200\002]N(a."), DS_ERR_FORMAT, "pickle stack underflow at byte 5 (opcode APPEND)"},
    {PK("\200\002]N(K\001\206."), DS_ERR_FORMAT, "pickle stack underflow"},
    {PK("\200\002K\0011."), DS_ERR_FORMAT, "no MARK to close"},
    {PK("\200\002h\005."), DS_ERR_FORMAT, "memo key 5 was never stored"},
    {PK("\200\002Nr\377\377\377\377."), DS_ERR_FORMAT, "memo key 4294967295 beyond the limit"},
    {PK("\200\002Np99999999999999999999\n."), DS_ERR_FORMAT, "bad memo key"},
    {PK("\200\002q\000."), DS_ERR_FORMAT, "pickle stack underflow"},
    {PK("\200\002X\001\000\000\000\377."), DS_ERR_FORMAT, "string is not valid UTF-8"},
    {PK("\200\002X\003\000\000\000\355\240\200."), DS_ERR_FORMAT, "not valid UTF-8"},
    {PK("\200\002X\002\000\000\000\300\201."), DS_ERR_FORMAT, "not valid UTF-8"},
    {PK("Sabc\n."), DS_ERR_FORMAT, "STRING argument must be quoted"},
    {PK("S'ab\\'\n."), DS_ERR_FORMAT, "ends in a backslash"},
    {PK("S'ab\\x4'\n."), DS_ERR_FORMAT, "bad \\x escape"},
    {PK("V\\u12\n."), DS_ERR_FORMAT, "truncated \\u escape"},
    {PK("V\\ud800\n."), DS_ERR_FORMAT, "escapes code point 0xd800"},
    {PK("I12a\n."), DS_ERR_FORMAT, "integer argument has a non-digit"},
    {PK("I\n."), DS_ERR_FORMAT, "integer argument has no digits"},
    {PK("Fnope\n."), DS_ERR_FORMAT, "float argument is not a number"},
    {PK("F1.5"), DS_ERR_FORMAT, "text argument has no end of line"},
    {PK("cos\nsys"), DS_ERR_FORMAT, "text argument has no end of line"},
    /* lengths beyond the input */
    {PK("\200\002X\377\377\377\377ab."), DS_ERR_FORMAT,
     "truncated: argument needs 4294967295 bytes, 3 left at byte 2 (opcode BINUNICODE)"},
    {PK("\200\004\215\000\000\000\000\000\000\000\200."), DS_ERR_FORMAT,
     "argument needs 9223372036854775808 bytes, 1 left"},
    {PK("\200\004\216\377\377\377\377\377\377\377\377."), DS_ERR_FORMAT, "argument needs"},
    {PK("\200\005\226\000\000\000\000\001\000\000\000."), DS_ERR_FORMAT, "argument needs"},
    {PK("\200\002B\000\000\000\200."), DS_ERR_FORMAT, "argument needs 2147483648 bytes"},
    {PK("\200\002T\000\000\000\200."), DS_ERR_FORMAT, "negative length"},
    {PK("\200\002\213\377\377\377\377."), DS_ERR_FORMAT, "negative length"},
    {PK("\200\002\213\377\377\377\177."), DS_ERR_FORMAT, "argument needs 2147483647 bytes"},
    {PK("\200\002\212\377."), DS_ERR_FORMAT, "argument needs 255 bytes, 1 left"},
    {PK("\200\004\225\000\000\000\000\000\001\000\000N."), DS_ERR_FORMAT, "frame of 1099511627776"},
    {PK("\200\002U\005ab."), DS_ERR_FORMAT, "argument needs 5 bytes, 3 left"},
    {PK("\200\002J\001\000."), DS_ERR_FORMAT, "argument needs 4 bytes, 3 left"},
    {PK("\200\002G\000\000."), DS_ERR_FORMAT, "argument needs 8 bytes"},
    {PK("\200"), DS_ERR_FORMAT, "argument needs 1 bytes, 0 left at byte 0 (opcode PROTO)"},
};

TEST(refusals_name_the_problem) {
    for (size_t i = 0; i < sizeof REFUSED / sizeof *REFUSED; i++) {
        const bad *b = &REFUSED[i];
        ds_status s = load_limited(b->bytes, b->len, NULL);
        CHECK_MSG(s == b->status && strstr(ds_last_error(), b->needle) &&
                      !strchr(ds_last_error(), '\n'),
                  "case %zu -> %s \"%s\", wanted %s with \"%s\"", i, ds_status_string(s),
                  ds_last_error(), ds_status_string(b->status), b->needle);
    }
}

TEST(limits) {
    static char deep[1100];
    memset(deep, '(', 1001);
    strcpy(deep + 1001, "N.");
    CHECK_FAILS(load_limited(deep, strlen(deep), NULL), DS_ERR_FORMAT,
                "containers nested deeper than 1000 MARKs at byte 1000 (opcode MARK)");
    ds_pickle_limits lim = ds_pickle_default_limits;
    lim.max_stack = 100;
    static char many[300];
    memset(many, 'N', 101);
    strcpy(many + 101, ".");
    CHECK_FAILS(load_limited(many, strlen(many), &lim), DS_ERR_FORMAT,
                "pickle stack deeper than 100 values at byte 100 (opcode NONE)");
    many[100] = '.';
    CHECK_OK(load_limited(many, 101, &lim));
    lim = ds_pickle_default_limits;
    lim.max_memo = 10;
    CHECK_FAILS(load_limited(PK("Nq\012."), &lim), DS_ERR_FORMAT, "memo key 10 beyond");
    CHECK_OK(load_limited(PK("Nq\011."), &lim));
    lim = ds_pickle_default_limits;
    lim.max_bytes = 1 << 20;
    /* 50000 lists in one list: far more than 1 MiB of values */
    size_t n = 50000;
    char *wide = malloc(n + 4);
    wide[0] = ']';
    wide[1] = '(';
    memset(wide + 2, ']', n);
    memcpy(wide + 2 + n, "e.", 2);
    ds_status s = load_limited(wide, n + 4, &lim);
    free(wide);
    CHECK_MSG(s == DS_ERR_FORMAT && strstr(ds_last_error(), "more than the 1 MiB memory limit"),
              "%s", ds_last_error());
    /* and a huge memo index alone stays under the limit by refusing */
    CHECK_FAILS(load_limited(PK("Nr\377\377\077\000."), &lim), DS_ERR_FORMAT,
                "more than the 1 MiB memory limit");
}

/* ---- state_dict flattening on hand-made pickles ----------------------------- */

static ds_torch_entry *entries;
static size_t n_entries;

static ds_status collect(const char *bytes, size_t n) {
    ds_torch_entries_free(entries, n_entries);
    entries = NULL;
    n_entries = 0;
    DS_TRY(load_limited(bytes, n, NULL));
    return ds_torch_collect(root, "t.pt", &entries, &n_entries);
}

#define T TENSOR_V2(PID_HALF_7)
#define COLLECT(lit) collect(PK(lit))

TEST(state_dict_choice_and_names) {
    CHECK_OK(COLLECT("\200\002}(\214\005model}(\214\001w" T "\214\001b" T "u"
                     "\214\toptimizer}\214\005state}K\000" T "ssu."));
    CHECK(n_entries == 2 && strcmp(entries[0].name, "w") == 0 && strcmp(entries[1].name, "b") == 0);
    CHECK(entries[0].tensor->size[1] == 3);
    CHECK_OK(COLLECT("\200\002}(\214\nstate_dict}\214\001w" T "s\214\005epochK\001u."));
    CHECK(n_entries == 1 && strcmp(entries[0].name, "w") == 0);
    CHECK_OK(COLLECT("\200\002}(\214\005modelK\005\214\001w" T "u."));
    CHECK(n_entries == 1 && strcmp(entries[0].name, "w") == 0);
    CHECK_OK(COLLECT("\200\002}(\214\001a](" T "N}(K\007" T "\214\001x" T "ueK\003\214\001nu."));
    CHECK(n_entries == 3);
    CHECK(strcmp(entries[0].name, "a.0") == 0 && strcmp(entries[1].name, "a.2.7") == 0);
    CHECK(strcmp(entries[2].name, "a.2.x") == 0);
    /* the same tensor under two names (tied weights) */
    CHECK_OK(COLLECT("\200\002}(\214\001a" T "q\000\214\001bh\000u."));
    CHECK(n_entries == 2 && entries[0].tensor == entries[1].tensor);
    /* non-str/int keys only matter when a tensor hangs below them */
    CHECK_OK(COLLECT("\200\002}(\214\001a" T "NK\001\210\211u."));
    CHECK(n_entries == 1);
}

TEST(state_dict_refusals) {
    CHECK_FAILS(COLLECT("\200\002]."), DS_ERR_FORMAT,
                "t.pt: the checkpoint holds a list, not a state_dict");
    CHECK_FAILS(COLLECT("\200\002" T "."), DS_ERR_FORMAT, "holds a tensor");
    CHECK_FAILS(COLLECT("\200\002}\214\001aK\001s."), DS_ERR_FORMAT,
                "t.pt: no tensors in the checkpoint");
    CHECK_FAILS(COLLECT("\200\002}(\214\003a.b" T "\214\001a}\214\001b" T "su."), DS_ERR_FORMAT,
                "t.pt: two tensors are named 'a.b'");
    CHECK_FAILS(COLLECT("\200\002}(\214\001w" T "\214\001w" T "u."), DS_ERR_FORMAT,
                "two tensors are named 'w'");
    CHECK_FAILS(COLLECT("\200\002}(\214\003a\000b" T "u."), DS_ERR_FORMAT, "a key holds a NUL");
    CHECK_FAILS(COLLECT("\200\002}(N" T "u."), DS_ERR_UNSUPPORTED,
                "a dict key that is not a str or int");
    CHECK_FAILS(COLLECT("\200\002}(\214\001x]q\000h\000au."), DS_ERR_FORMAT,
                "containers nested deeper than 64 levels at 'x.0.0.0.");
    /* 2^40 paths through 40 shared lists: the walk stops at its budget */
    static char dag[600];
    strcpy(dag, "\200\002}\214\001x]");
    for (int i = 0; i < 40; i++)
        strcat(dag, "q\0010](h\001h\001e");
    strcat(dag, "s.");
    CHECK_FAILS(collect(dag, strlen(dag)), DS_ERR_FORMAT,
                "more than 4M values below the state_dict");
}

/* ---- views --------------------------------------------------------------------- */

static ds_pk_value storage_value(ds_dtype dtype, int64_t numel) {
    ds_pk_value v;
    memset(&v, 0, sizeof v);
    v.kind = DS_PK_STORAGE;
    v.u.storage.dtype = dtype;
    v.u.storage.key = "s";
    v.u.storage.numel = numel;
    v.u.storage.view_numel = numel;
    return v;
}

static ds_pk_tensor view(const ds_pk_value *st, int64_t offset, int ndim, const int64_t *size,
                         const int64_t *stride) {
    ds_pk_tensor t;
    memset(&t, 0, sizeof t);
    t.storage = st;
    t.offset = offset;
    t.ndim = ndim;
    for (int i = 0; i < ndim; i++) {
        t.size[i] = size[i];
        t.stride[i] = stride[i];
    }
    return t;
}

TEST(view_bounds) {
    ds_pk_value st = storage_value(DS_F32, 10);
    size_t nbytes;
    ds_pk_tensor t = view(&st, 0, 2, (int64_t[]){2, 5}, (int64_t[]){5, 1});
    CHECK_OK(ds_torch_view_nbytes(&t, "f.pt", "w", &nbytes));
    CHECK(nbytes == 40);
    t = view(&st, 0, 2, (int64_t[]){2, 5}, (int64_t[]){5, 2});
    CHECK_FAILS(ds_torch_view_nbytes(&t, "f.pt", "w", &nbytes), DS_ERR_FORMAT,
                "f.pt: tensor 'w' needs element 13 of storage 's', which has 10");
    t = view(&st, 10, 0, NULL, NULL);
    CHECK_FAILS(ds_torch_view_nbytes(&t, "f.pt", "w", &nbytes), DS_ERR_FORMAT, "needs element 10");
    t = view(&st, -1, 1, (int64_t[]){1}, (int64_t[]){1});
    CHECK_FAILS(ds_torch_view_nbytes(&t, "f.pt", "w", &nbytes), DS_ERR_FORMAT,
                "negative storage offset");
    t = view(&st, 0, 1, (int64_t[]){-1}, (int64_t[]){1});
    CHECK_FAILS(ds_torch_view_nbytes(&t, "f.pt", "w", &nbytes), DS_ERR_FORMAT,
                "negative size or stride in dimension 0");
    t = view(&st, 9, 2, (int64_t[]){2, 3}, (int64_t[]){0, -1});
    CHECK_FAILS(ds_torch_view_nbytes(&t, "f.pt", "w", &nbytes), DS_ERR_FORMAT,
                "negative size or stride in dimension 1");
    t = view(&st, 0, 2, (int64_t[]){3037000500, 3037000500}, (int64_t[]){0, 0});
    CHECK_FAILS(ds_torch_view_nbytes(&t, "f.pt", "w", &nbytes), DS_ERR_FORMAT,
                "more than 2^63 elements");
    t = view(&st, 1, 1, (int64_t[]){2}, (int64_t[]){INT64_MAX});
    CHECK_FAILS(ds_torch_view_nbytes(&t, "f.pt", "w", &nbytes), DS_ERR_FORMAT,
                "reaches beyond element 2^63");
    t = view(&st, 0, 1, (int64_t[]){(int64_t)1 << 62}, (int64_t[]){0});
    CHECK_FAILS(ds_torch_view_nbytes(&t, "f.pt", "w\nx", &nbytes), DS_ERR_FORMAT,
                "tensor 'w\\x0ax' has too many elements");
    t = view(&st, 500, 2, (int64_t[]){0, 7}, (int64_t[]){INT64_MAX, 3});
    CHECK_OK(ds_torch_view_nbytes(&t, "f.pt", "w", &nbytes)); /* empty: touches nothing */
    CHECK(nbytes == 0);
}

TEST(view_copies) {
    float data[10];
    for (int i = 0; i < 10; i++)
        data[i] = (float)i;
    ds_pk_value st = storage_value(DS_F32, 10);
    float out[12];
    size_t nbytes;
    ds_pk_tensor t = view(&st, 1, 2, (int64_t[]){2, 3}, (int64_t[]){1, 2});
    CHECK_OK(ds_torch_view_nbytes(&t, "f.pt", "w", &nbytes));
    ds_torch_copy_view(&t, (const uint8_t *)data, out);
    CHECK(out[0] == 1 && out[1] == 3 && out[2] == 5 && out[3] == 2 && out[4] == 4 && out[5] == 6);
    t = view(&st, 2, 3, (int64_t[]){2, 2, 3}, (int64_t[]){0, 3, 1});
    CHECK_OK(ds_torch_view_nbytes(&t, "f.pt", "w", &nbytes));
    ds_torch_copy_view(&t, (const uint8_t *)data, out);
    CHECK(out[0] == 2 && out[5] == 7 && out[6] == 2 && out[11] == 7);
    st.u.storage.view_offset = 4; /* a legacy storage view: elements 4..9 */
    st.u.storage.view_numel = 6;
    t = view(&st, 0, 1, (int64_t[]){3}, (int64_t[]){2});
    CHECK_OK(ds_torch_view_nbytes(&t, "f.pt", "w", &nbytes));
    ds_torch_copy_view(&t, (const uint8_t *)data, out);
    CHECK(out[0] == 4 && out[1] == 6 && out[2] == 8);
    t = view(&st, 2, 1, (int64_t[]){3}, (int64_t[]){2});
    CHECK_FAILS(ds_torch_view_nbytes(&t, "f.pt", "w", &nbytes), DS_ERR_FORMAT,
                "needs element 6 of storage 's', which has 6");
}

int main(void) {
    RUN(plain_values_protocols_0_to_5);
    RUN(sets_bytearrays_ordered_dicts);
    RUN(devices_dtypes_numpy_scalars);
    RUN(text_opcodes);
    RUN(binary_ints_and_longs);
    RUN(blobs_of_every_width);
    RUN(memo_marks_and_sharing);
    RUN(several_pickles_in_one_buffer);
    RUN(tensor_rebuilds);
    RUN(storage_persistent_ids);
    RUN(refusals_name_the_problem);
    RUN(limits);
    RUN(state_dict_choice_and_names);
    RUN(state_dict_refusals);
    RUN(view_bounds);
    RUN(view_copies);
    ds_torch_entries_free(entries, n_entries);
    ds_pickle_free(pk);
    return test_summary();
}
