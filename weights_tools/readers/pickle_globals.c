/*
 * pickle_globals.c: the allow-list of pickle globals, and what calling each
 * one means. Nothing outside this list can be named by a pickle we read;
 * everything on it is a tensor or state_dict building block or a pure data
 * constructor, interpreted here without running any code.
 */
#include <stdio.h>
#include <string.h>

#include "weights_tools/readers/pickle_internal.h"

typedef struct allowed {
    const char *module, *name, *full;
    int id;
} allowed;

static const allowed ALLOWED[] = {
    {"collections", "OrderedDict", "collections.OrderedDict", PK_G_ORDERED_DICT},
    {"builtins", "set", "builtins.set", PK_G_SET},
    {"builtins", "frozenset", "builtins.frozenset", PK_G_FROZENSET},
    {"builtins", "bytearray", "builtins.bytearray", PK_G_BYTEARRAY},
    {"builtins", "bytes", "builtins.bytes", PK_G_BYTES},
    {"_codecs", "encode", "_codecs.encode", PK_G_CODECS_ENCODE},
    {"torch", "Size", "torch.Size", PK_G_TORCH_SIZE},
    {"torch", "device", "torch.device", PK_G_TORCH_DEVICE},
    {"torch._utils", "_rebuild_tensor", "torch._utils._rebuild_tensor", PK_G_REBUILD_TENSOR},
    {"torch._utils", "_rebuild_tensor_v2", "torch._utils._rebuild_tensor_v2",
     PK_G_REBUILD_TENSOR_V2},
    {"torch._utils", "_rebuild_parameter", "torch._utils._rebuild_parameter",
     PK_G_REBUILD_PARAMETER},
    {"torch._utils", "_rebuild_parameter_with_state",
     "torch._utils._rebuild_parameter_with_state", PK_G_REBUILD_PARAMETER_WITH_STATE},
    {"torch._tensor", "_rebuild_from_type", "torch._tensor._rebuild_from_type",
     PK_G_REBUILD_FROM_TYPE},
    {"torch._tensor", "_rebuild_from_type_v2", "torch._tensor._rebuild_from_type_v2",
     PK_G_REBUILD_FROM_TYPE_V2},
    {"torch", "Tensor", "torch.Tensor", PK_G_TYPE_TENSOR},
    {"torch.nn.parameter", "Parameter", "torch.nn.parameter.Parameter", PK_G_TYPE_PARAMETER},
    /* numpy scalars (e.g. a metric saved beside the weights): kept opaque */
    {"numpy.core.multiarray", "scalar", "numpy.core.multiarray.scalar", PK_G_NUMPY_SCALAR},
    {"numpy._core.multiarray", "scalar", "numpy._core.multiarray.scalar", PK_G_NUMPY_SCALAR},
    {"numpy", "dtype", "numpy.dtype", PK_G_NUMPY_DTYPE},
};

typedef struct storage_type {
    const char *name, *full;
    ds_dtype dtype;
} storage_type;

static const storage_type STORAGES[] = {
    {"DoubleStorage", "torch.DoubleStorage", DS_F64},
    {"FloatStorage", "torch.FloatStorage", DS_F32},
    {"HalfStorage", "torch.HalfStorage", DS_F16},
    {"BFloat16Storage", "torch.BFloat16Storage", DS_BF16},
    {"LongStorage", "torch.LongStorage", DS_I64},
    {"IntStorage", "torch.IntStorage", DS_I32},
    {"ShortStorage", "torch.ShortStorage", DS_I16},
    {"CharStorage", "torch.CharStorage", DS_I8},
    {"ByteStorage", "torch.ByteStorage", DS_U8},
    {"BoolStorage", "torch.BoolStorage", DS_BOOL},
    {"UntypedStorage", "torch.UntypedStorage", DS_U8},
};

static const char *const TORCH_DTYPES[] = {
    "float32", "float", "float64", "double", "float16", "half", "bfloat16", "int64",
    "long", "int32", "int", "int16", "short", "int8", "uint8", "bool",
    "complex64", "cfloat", "complex128", "cdouble",
};

/* torch globals we recognise but cannot read: refused with a precise reason */
static const struct {
    const char *name, *why;
} UNSUPPORTED[] = {
    {"torch._utils._rebuild_qtensor", "quantized tensors"},
    {"torch._utils._rebuild_sparse_tensor", "sparse tensors"},
    {"torch._utils._rebuild_sparse_csr_tensor", "sparse tensors"},
    {"torch._utils._rebuild_meta_tensor_no_storage", "meta tensors"},
    {"torch._utils._rebuild_device_tensor_from_numpy", "device (XLA) tensors"},
    {"torch._utils._rebuild_xla_tensor", "device (XLA) tensors"},
    {"torch._utils._rebuild_mlc_tensor", "device (MLC) tensors"},
    {"torch._utils._rebuild_wrapper_subclass", "tensor subclasses"},
    {"torch._utils._rebuild_nested_tensor", "nested tensors"},
};

static int equals(const char *s, size_t n, const char *lit) {
    return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

static ds_status new_global(ds_pickle *pk, int id, ds_dtype dtype, const char *full,
                            ds_pk_value **out) {
    DS_TRY(pk_new(pk, DS_PK_GLOBAL, out));
    (*out)->u.global.id = id;
    (*out)->u.global.dtype = dtype;
    (*out)->u.global.name = full;
    return DS_OK;
}

static ds_status find_storage(ds_pickle *pk, const char *name, size_t n, const char *shown,
                              ds_pk_value **out) {
    for (size_t i = 0; i < sizeof STORAGES / sizeof *STORAGES; i++)
        if (equals(name, n, STORAGES[i].name))
            return new_global(pk, PK_G_STORAGE_TYPE, STORAGES[i].dtype, STORAGES[i].full, out);
    return pk_fail(pk, DS_ERR_UNSUPPORTED, "storage type '%s' is not supported", shown);
}

ds_status pk_find_global(ds_pickle *pk, const char *module, size_t module_len, const char *name,
                         size_t name_len, ds_pk_value **out) {
    char mod_shown[100], name_shown[100], shown[208], full[320];
    ds_pk_printable(mod_shown, sizeof mod_shown, module, module_len);
    ds_pk_printable(name_shown, sizeof name_shown, name, name_len);
    snprintf(shown, sizeof shown, "%s.%s", mod_shown, name_shown);

    /* the renames torch.load and Python 3 apply to old pickles */
    if (equals(module, module_len, "__builtin__"))
        module = "builtins", module_len = strlen(module);
    if (equals(module, module_len, "torch.tensor"))
        module = "torch._tensor", module_len = strlen(module);

    for (size_t i = 0; i < sizeof ALLOWED / sizeof *ALLOWED; i++)
        if (equals(module, module_len, ALLOWED[i].module) &&
            equals(name, name_len, ALLOWED[i].name))
            return new_global(pk, ALLOWED[i].id, DS_U8, ALLOWED[i].full, out);

    int torch_mod = equals(module, module_len, "torch");
    if ((torch_mod || equals(module, module_len, "torch.cuda")) && name_len > 7 &&
        memcmp(name + name_len - 7, "Storage", 7) == 0)
        return find_storage(pk, name, name_len, shown, out);
    if (torch_mod)
        for (size_t i = 0; i < sizeof TORCH_DTYPES / sizeof *TORCH_DTYPES; i++)
            if (equals(name, name_len, TORCH_DTYPES[i]))
                return new_global(pk, PK_G_TORCH_DTYPE, DS_U8, "torch.dtype", out);

    snprintf(full, sizeof full, "%.*s.%.*s", (int)(module_len < 150 ? module_len : 150), module,
             (int)(name_len < 150 ? name_len : 150), name);
    for (size_t i = 0; i < sizeof UNSUPPORTED / sizeof *UNSUPPORTED; i++)
        if (strcmp(full, UNSUPPORTED[i].name) == 0)
            return pk_fail(pk, DS_ERR_UNSUPPORTED, "pickle global '%s' is not supported (%s)",
                           shown, UNSUPPORTED[i].why);
    return pk_fail(pk, DS_ERR_UNSAFE,
                   "refusing pickle global '%s' (only tensor and state_dict types are allowed)",
                   shown);
}

/* ---- calls ------------------------------------------------------------------- */

static int is_seq(const ds_pk_value *v) {
    return v->kind == DS_PK_TUPLE || v->kind == DS_PK_LIST;
}

static ds_status bad_args(ds_pickle *pk, const ds_pk_value *fn, const char *want) {
    return pk_fail(pk, DS_ERR_FORMAT, "%s called with wrong arguments (expected %s)",
                   fn->u.global.name, want);
}

/* OrderedDict(), or OrderedDict([[k, v], ...]) as Python 2 wrote it. */
static ds_status call_ordered_dict(ds_pickle *pk, const ds_pk_value *fn, size_t argc,
                                   ds_pk_value *const *argv, ds_pk_value **out) {
    DS_TRY(pk_new_seq(pk, DS_PK_DICT, NULL, 0, out));
    if (argc == 0)
        return DS_OK;
    if (argc != 1 || !is_seq(argv[0]))
        return bad_args(pk, fn, "() or a list of pairs");
    for (size_t i = 0; i < argv[0]->u.seq.n; i++) {
        const ds_pk_value *pair = argv[0]->u.seq.items[i];
        if (!is_seq(pair) || pair->u.seq.n != 2)
            return bad_args(pk, fn, "() or a list of pairs");
        DS_TRY(pk_seq_push(pk, *out, pair->u.seq.items[0]));
        DS_TRY(pk_seq_push(pk, *out, pair->u.seq.items[1]));
    }
    return DS_OK;
}

/* set(), set(items), frozenset(items), torch.Size(items): a copy of the items. */
static ds_status call_collection(ds_pickle *pk, const ds_pk_value *fn, ds_pk_kind kind,
                                 size_t argc, ds_pk_value *const *argv, ds_pk_value **out) {
    if (argc == 0)
        return pk_new_seq(pk, kind, NULL, 0, out);
    if (argc != 1 || !is_seq(argv[0]))
        return bad_args(pk, fn, "one list or tuple");
    return pk_new_seq(pk, kind, argv[0]->u.seq.items, argv[0]->u.seq.n, out);
}

static ds_status call_codecs_encode(ds_pickle *pk, const ds_pk_value *fn, size_t argc,
                                    ds_pk_value *const *argv, ds_pk_value **out) {
    if (argc != 2 || argv[0]->kind != DS_PK_STR || argv[1]->kind != DS_PK_STR)
        return bad_args(pk, fn, "(str, 'latin1')");
    if (strcmp(argv[1]->u.s.ptr, "latin1") != 0 && strcmp(argv[1]->u.s.ptr, "latin-1") != 0)
        return pk_fail(pk, DS_ERR_UNSUPPORTED, "_codecs.encode to an encoding other than latin1");
    return pk_latin1_bytes(pk, argv[0], out);
}

static ds_status call_opaque(ds_pickle *pk, const ds_pk_value *fn, size_t argc, size_t max_argc,
                             const char *what, ds_pk_value **out) {
    if (argc == 0 || argc > max_argc)
        return bad_args(pk, fn, "its pickled arguments");
    return pk_new_opaque(pk, what, out);
}

/* _rebuild_from_type(_v2)(func, type, args, state): func(*args), for plain tensor types. */
static ds_status call_from_type(ds_pickle *pk, const ds_pk_value *fn, size_t argc,
                                ds_pk_value *const *argv, ds_pk_value **out) {
    if (argc != 4 || argv[0]->kind != DS_PK_GLOBAL || argv[2]->kind != DS_PK_TUPLE)
        return bad_args(pk, fn, "(rebuild function, type, args, state)");
    int rebuild = argv[0]->u.global.id;
    if (rebuild != PK_G_REBUILD_TENSOR && rebuild != PK_G_REBUILD_TENSOR_V2 &&
        rebuild != PK_G_REBUILD_PARAMETER && rebuild != PK_G_REBUILD_PARAMETER_WITH_STATE)
        return pk_fail(pk, DS_ERR_UNSAFE, "refusing %s with function '%s'", fn->u.global.name,
                       argv[0]->u.global.name);
    const ds_pk_value *type = argv[1];
    if (type->kind != DS_PK_GLOBAL ||
        (type->u.global.id != PK_G_TYPE_TENSOR && type->u.global.id != PK_G_TYPE_PARAMETER))
        return pk_fail(pk, DS_ERR_UNSAFE,
                       "refusing %s with type '%s' (only torch.Tensor and "
                       "torch.nn.parameter.Parameter)",
                       fn->u.global.name,
                       type->kind == DS_PK_GLOBAL ? type->u.global.name
                                                  : ds_pk_kind_name(type->kind));
    return pk_rebuild_tensor(pk, rebuild, argv[2], out);
}

ds_status pk_call(ds_pickle *pk, const ds_pk_value *fn, const ds_pk_value *args, int newobj,
                  ds_pk_value **out) {
    if (fn->kind != DS_PK_GLOBAL)
        return pk_fail(pk, DS_ERR_FORMAT, "call of a %s (only allowed globals can be called)",
                       ds_pk_kind_name(fn->kind));
    if (args->kind != DS_PK_TUPLE)
        return pk_fail(pk, DS_ERR_FORMAT, "arguments of %s are a %s, not a tuple",
                       fn->u.global.name, ds_pk_kind_name(args->kind));
    size_t argc = args->u.seq.n;
    ds_pk_value *const *argv = args->u.seq.items;
    switch (fn->u.global.id) {
    case PK_G_ORDERED_DICT: return call_ordered_dict(pk, fn, newobj ? 0 : argc, argv, out);
    case PK_G_SET: return call_collection(pk, fn, DS_PK_LIST, newobj ? 0 : argc, argv, out);
    case PK_G_FROZENSET: return call_collection(pk, fn, DS_PK_LIST, argc, argv, out);
    case PK_G_TORCH_SIZE: return call_collection(pk, fn, DS_PK_TUPLE, argc, argv, out);
    case PK_G_BYTES:
    case PK_G_BYTEARRAY:
        if (argc == 0)
            return pk_new_blob(pk, DS_PK_BYTES, "", 0, out);
        if (argc != 1 || argv[0]->kind != DS_PK_BYTES || fn->u.global.id == PK_G_BYTES)
            return bad_args(pk, fn, fn->u.global.id == PK_G_BYTES ? "()" : "() or (bytes,)");
        *out = argv[0];
        return DS_OK;
    default: break;
    }
    if (newobj)
        return pk_fail(pk, DS_ERR_FORMAT, "NEWOBJ of %s, which is not a container type",
                       fn->u.global.name);
    switch (fn->u.global.id) {
    case PK_G_CODECS_ENCODE: return call_codecs_encode(pk, fn, argc, argv, out);
    case PK_G_TORCH_DEVICE: return call_opaque(pk, fn, argc, 2, "torch.device", out);
    case PK_G_NUMPY_SCALAR: return call_opaque(pk, fn, argc, 2, "numpy scalar", out);
    case PK_G_NUMPY_DTYPE: return call_opaque(pk, fn, argc, 3, "numpy.dtype", out);
    case PK_G_REBUILD_TENSOR:
    case PK_G_REBUILD_TENSOR_V2:
    case PK_G_REBUILD_PARAMETER:
    case PK_G_REBUILD_PARAMETER_WITH_STATE:
        return pk_rebuild_tensor(pk, fn->u.global.id, args, out);
    case PK_G_REBUILD_FROM_TYPE:
    case PK_G_REBUILD_FROM_TYPE_V2: return call_from_type(pk, fn, argc, argv, out);
    default:
        return pk_fail(pk, DS_ERR_UNSAFE,
                       "refusing to call pickle global '%s' (allowed only as an argument)",
                       fn->u.global.name);
    }
}

ds_status pk_build(ds_pickle *pk, ds_pk_value *inst, const ds_pk_value *state) {
    (void)state;
    switch (inst->kind) {
    case DS_PK_DICT:   /* OrderedDict state: a state_dict's _metadata, not needed */
    case DS_PK_TENSOR: /* tensor attributes of old torch versions */
    case DS_PK_OPAQUE: /* numpy.dtype details */
        return DS_OK;
    default:
        return pk_fail(pk, DS_ERR_FORMAT, "BUILD on a %s is not supported",
                       ds_pk_kind_name(inst->kind));
    }
}
