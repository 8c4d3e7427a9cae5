/* test_gguf_hostile.c: hand-made GGUF files the reader must refuse with a
 * clear one-line error (or, for overlapping tensors, read). */
#include "tests/gguf_bytes.h" /* bb, one_tensor, CHECK_OPEN_FAILS */
#include "tests/test.h"

TEST(hostile_headers) {
    bb b = {0};
    CHECK_OPEN_FAILS(b, DS_ERR_FORMAT, "not a GGUF file");
    bb_raw(&b, "GGU", 3);
    CHECK_OPEN_FAILS(b, DS_ERR_FORMAT, "not a GGUF file");
    bb_raw(&b, "GGML", 4), bb_zeros(&b, 40);
    CHECK_OPEN_FAILS(b, DS_ERR_FORMAT, "not a GGUF file");
    bb_raw(&b, "GGUF", 4), bb_u16(&b, 3);
    CHECK_OPEN_FAILS(b, DS_ERR_FORMAT, "truncated");
    bb_header(&b, 1, 0, 0);
    CHECK_OPEN_FAILS(b, DS_ERR_UNSUPPORTED, "GGUF version 1 is not supported");
    bb_header(&b, 4, 0, 0);
    CHECK_OPEN_FAILS(b, DS_ERR_UNSUPPORTED, "version 4 is not supported");
    bb_header(&b, 0x03000000u, 0, 0);
    CHECK_OPEN_FAILS(b, DS_ERR_UNSUPPORTED, "big-endian");
    bb_header(&b, 3, 0, 0);
    b.len -= 1;
    CHECK_OPEN_FAILS(b, DS_ERR_FORMAT, "too short for a GGUF header");
    bb_header(&b, 3, 0, UINT64_MAX);
    CHECK_OPEN_FAILS(b, DS_ERR_FORMAT, "metadata count 18446744073709551615 cannot fit");
    bb_header(&b, 3, 1ull << 62, 0);
    CHECK_OPEN_FAILS(b, DS_ERR_FORMAT, "tensor count 4611686018427387904 cannot fit");
    bb_header(&b, 3, 0, 1), bb_zeros(&b, 12);
    CHECK_OPEN_FAILS(b, DS_ERR_FORMAT, "metadata count 1 cannot fit");
}

TEST(hostile_metadata) {
    bb b = {0};
    bb_header(&b, 3, 0, 1), bb_u64(&b, UINT64_MAX), bb_zeros(&b, 8);
    CHECK_OPEN_FAILS(b, DS_ERR_FORMAT, "truncated: metadata entry 0 needs 18446744073709551615 bytes");
    bb_header(&b, 3, 0, 1), bb_u64(&b, 70000), bb_zeros(&b, 70000 + 13);
    CHECK_OPEN_FAILS(b, DS_ERR_FORMAT, "name is 70000 bytes long");
    bb_header(&b, 3, 0, 1), bb_u64(&b, 3), bb_raw(&b, "a\0b", 3), bb_u32(&b, 0), bb_u8(&b, 0);
    CHECK_OPEN_FAILS(b, DS_ERR_FORMAT, "metadata entry 0: name contains a control byte (0x00)");
    bb_header(&b, 3, 0, 1), bb_u64(&b, 3), bb_raw(&b, "a\nb", 3), bb_u32(&b, 0), bb_u8(&b, 0);
    CHECK_OPEN_FAILS(b, DS_ERR_FORMAT, "name contains a control byte (0x0a)");
    bb_header(&b, 3, 0, 1), bb_key(&b, "k", 13), bb_u8(&b, 0);
    CHECK_OPEN_FAILS(b, DS_ERR_FORMAT, "metadata 'k': unknown value type 13");
    bb_header(&b, 3, 0, 1), bb_key(&b, "k", 0xffffffffu), bb_u8(&b, 0);
    CHECK_OPEN_FAILS(b, DS_ERR_FORMAT, "unknown value type 4294967295");
    bb_header(&b, 3, 0, 1), bb_key(&b, "k", DS_GGUF_STRING), bb_u64(&b, 1ull << 63);
    CHECK_OPEN_FAILS(b, DS_ERR_FORMAT, "truncated: metadata 'k' needs 9223372036854775808 bytes");
    bb_header(&b, 3, 0, 1), bb_key(&b, "k", DS_GGUF_UINT64), bb_u32(&b, 1);
    CHECK_OPEN_FAILS(b, DS_ERR_FORMAT, "truncated: metadata 'k' needs 8 bytes");
    bb_header(&b, 3, 0, 1), bb_key(&b, "k", DS_GGUF_BOOL), bb_u8(&b, 2);
    CHECK_OPEN_FAILS(b, DS_ERR_FORMAT, "is 2, not 0 or 1");
    bb_header(&b, 3, 0, 1), bb_key(&b, "k", DS_GGUF_ARRAY), bb_u32(&b, DS_GGUF_UINT32);
    bb_u64(&b, UINT64_MAX / 2);
    CHECK_OPEN_FAILS(b, DS_ERR_FORMAT, "array elements of uint32 at offset");
    bb_header(&b, 3, 0, 1), bb_key(&b, "k", DS_GGUF_ARRAY), bb_u32(&b, DS_GGUF_STRING);
    bb_u64(&b, 1ull << 40), bb_str(&b, "x");
    CHECK_OPEN_FAILS(b, DS_ERR_FORMAT, "1099511627776 array elements of string");
    bb_header(&b, 3, 0, 1), bb_key(&b, "k", DS_GGUF_ARRAY), bb_u32(&b, DS_GGUF_STRING);
    bb_u64(&b, 2), bb_str(&b, "x"), bb_u64(&b, 100), bb_zeros(&b, 8);
    CHECK_OPEN_FAILS(b, DS_ERR_FORMAT, "needs 100 bytes");
    bb_header(&b, 3, 0, 1), bb_key(&b, "k", DS_GGUF_ARRAY), bb_u32(&b, DS_GGUF_ARRAY);
    bb_u64(&b, 1), bb_u32(&b, DS_GGUF_UINT8), bb_u64(&b, 1), bb_u8(&b, 1);
    CHECK_OPEN_FAILS(b, DS_ERR_UNSUPPORTED, "nested arrays");
    bb_header(&b, 3, 0, 1), bb_key(&b, "k", DS_GGUF_ARRAY), bb_u32(&b, 77), bb_u64(&b, 0);
    CHECK_OPEN_FAILS(b, DS_ERR_FORMAT, "unknown array element type 77");
    bb_header(&b, 3, 0, 1), bb_key(&b, "k", DS_GGUF_ARRAY), bb_u32(&b, DS_GGUF_BOOL);
    bb_u64(&b, 3), bb_u8(&b, 1), bb_u8(&b, 0), bb_u8(&b, 9);
    CHECK_OPEN_FAILS(b, DS_ERR_FORMAT, "is 9, not 0 or 1");
    bb_header(&b, 3, 0, 2), bb_key(&b, "k", DS_GGUF_UINT8), bb_u8(&b, 1);
    bb_key(&b, "k", DS_GGUF_INT8), bb_u8(&b, 2);
    CHECK_OPEN_FAILS(b, DS_ERR_FORMAT, "duplicate key 'k'");
}

TEST(hostile_alignment) {
    bb b = {0};
    bb_header(&b, 3, 0, 1), bb_key(&b, "general.alignment", DS_GGUF_UINT64), bb_u64(&b, 64);
    CHECK_OPEN_FAILS(b, DS_ERR_FORMAT, "general.alignment is uint64, not uint32");
    bb_header(&b, 3, 0, 1), bb_key(&b, "general.alignment", DS_GGUF_UINT32), bb_u32(&b, 48);
    CHECK_OPEN_FAILS(b, DS_ERR_FORMAT, "general.alignment 48 is not a power of two");
    bb_header(&b, 3, 0, 1), bb_key(&b, "general.alignment", DS_GGUF_UINT32), bb_u32(&b, 0);
    CHECK_OPEN_FAILS(b, DS_ERR_FORMAT, "general.alignment 0 is not a power of two");
    /* a huge alignment puts the data section past the end */
    bb_header(&b, 3, 1, 1), bb_key(&b, "general.alignment", DS_GGUF_UINT32), bb_u32(&b, 1u << 31);
    bb_info(&b, "t", 1, (uint64_t[]){1}, 0, 0), bb_zeros(&b, 64);
    CHECK_OPEN_FAILS(b, DS_ERR_FORMAT, "tensor 't' data (4 bytes at offset 0 of the data section at 2147483648)");
}

TEST(hostile_tensor_infos) {
    bb b = one_tensor("t", 1, (uint64_t[]){16}, 0, 0);
    ds_gguf *g = NULL;
    CHECK_OK(ds_gguf_open_memory(b.p, b.len, "baseline.gguf", &g)); /* the cases below break it */
    ds_gguf_close(g);
    free(b.p);
    b = one_tensor("t", 5, (uint64_t[]){1, 1, 1, 1, 1}, 0, 0);
    CHECK_OPEN_FAILS(b, DS_ERR_FORMAT, "tensor 't' has 5 dimensions (at most 4)");
    bb_header(&b, 3, 1, 0), bb_str(&b, "t"), bb_u32(&b, 0xffffffffu), bb_zeros(&b, 64);
    CHECK_OPEN_FAILS(b, DS_ERR_FORMAT, "4294967295 dimensions");
    b = one_tensor("t", 2, (uint64_t[]){4, 0}, 0, 0);
    CHECK_OPEN_FAILS(b, DS_ERR_FORMAT, "tensor 't': dimension 1 is 0 (must be positive)");
    b = one_tensor("t", 1, (uint64_t[]){1ull << 63}, 0, 0);
    CHECK_OPEN_FAILS(b, DS_ERR_FORMAT, "dimension 0 is 9223372036854775808");
    b = one_tensor("t", 3, (uint64_t[]){1ull << 32, 1ull << 31, 2}, 0, 0);
    CHECK_OPEN_FAILS(b, DS_ERR_FORMAT, "tensor 't': element count overflows");
    b = one_tensor("t", 2, (uint64_t[]){1ull << 31, 1ull << 31}, 0, 0);
    CHECK_OPEN_FAILS(b, DS_ERR_FORMAT, "4611686018427387904 elements cannot fit");
    b = one_tensor("t", 1, (uint64_t[]){3}, 2, 0);
    CHECK_OPEN_FAILS(b, DS_ERR_UNSUPPORTED, "tensor 't' has ggml type 2 (q4_0)");
    b = one_tensor("t", 1, (uint64_t[]){3}, 12, 0);
    CHECK_OPEN_FAILS(b, DS_ERR_UNSUPPORTED, "ggml type 12 (q4_k)");
    b = one_tensor("t", 1, (uint64_t[]){3}, 99, 0);
    CHECK_OPEN_FAILS(b, DS_ERR_UNSUPPORTED, "ggml type 99 (unknown)");
    b = one_tensor("t", 1, (uint64_t[]){3}, 4, 0);
    CHECK_OPEN_FAILS(b, DS_ERR_UNSUPPORTED, "ggml type 4 (unknown)");
    b = one_tensor("t", 1, (uint64_t[]){3}, 0, 4);
    CHECK_OPEN_FAILS(b, DS_ERR_FORMAT, "data offset 4 is not a multiple of the alignment 32");
    b = one_tensor("t", 1, (uint64_t[]){3}, 0, 64);
    CHECK_OPEN_FAILS(b, DS_ERR_FORMAT, "runs past the end of the file");
    b = one_tensor("t", 1, (uint64_t[]){17}, 0, 0);
    CHECK_OPEN_FAILS(b, DS_ERR_FORMAT, "tensor 't' data (68 bytes at offset 0");
    b = one_tensor("t", 1, (uint64_t[]){3}, 0, UINT64_MAX - 31);
    CHECK_OPEN_FAILS(b, DS_ERR_FORMAT, "runs past the end of the file");
    bb_header(&b, 3, 1, 0), bb_str(&b, "t"), bb_u32(&b, 1), bb_u64(&b, 3), bb_u32(&b, 0);
    bb_zeros(&b, 4);
    CHECK_OPEN_FAILS(b, DS_ERR_FORMAT, "truncated: tensor 't' needs 8 bytes");
    bb_header(&b, 3, 1, 0), bb_u64(&b, 1), bb_u8(&b, 0), bb_u32(&b, 1), bb_u64(&b, 3);
    bb_u32(&b, 0), bb_u64(&b, 0), bb_pad(&b, 32), bb_zeros(&b, 32);
    CHECK_OPEN_FAILS(b, DS_ERR_FORMAT, "tensor info 0: name contains a control byte (0x00)");
    bb_header(&b, 3, 2, 0);
    bb_info(&b, "w", 1, (uint64_t[]){3}, 0, 0), bb_info(&b, "w", 1, (uint64_t[]){3}, 0, 32);
    bb_pad(&b, 32), bb_zeros(&b, 64);
    CHECK_OPEN_FAILS(b, DS_ERR_FORMAT, "duplicate tensor name 'w'");
}

TEST(overlapping_tensors_are_read) {
    bb b = {0};
    bb_header(&b, 3, 2, 0);
    bb_info(&b, "a", 1, (uint64_t[]){4}, 0, 0), bb_info(&b, "b", 1, (uint64_t[]){8}, 0, 0);
    bb_pad(&b, 32), bb_zeros(&b, 32);
    ds_gguf *g = NULL;
    CHECK_OK(ds_gguf_open_memory(b.p, b.len, "overlap.gguf", &g));
    CHECK(ds_gguf_tensor_at(g, 0)->data == ds_gguf_tensor_at(g, 1)->data);
    ds_gguf_close(g);
    free(b.p);
}

int main(void) {
    RUN(hostile_headers);
    RUN(hostile_metadata);
    RUN(hostile_alignment);
    RUN(hostile_tensor_infos);
    RUN(overlapping_tensors_are_read);
    return test_summary();
}
