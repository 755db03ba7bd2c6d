// ggml block formats to float32, operation for operation as ggml's dequantize_row_*
// (ggml-quants.c), so results are bit-identical to llama.cpp's. Compiled with
// -ffp-contract=off: a fused multiply-add would round differently from ggml's reference.
// Blocks are read with memcpy; a GGUF data section is 32-aligned but its blocks are not.
#include <cstring>

#include "model/gguf.h"
#include "sonify/checkpoint.h"

namespace sonify::gguf {
namespace {

constexpr int kQK = 256;  // QK_K, elements in a K-quant super-block

float half(const unsigned char* p) {
  float f;
  convert_to_f32(DType::F16, p, 1, &f);
  return f;
}

// Q8_0: f16 d, int8 qs[32]; x = q·d.
void q8_0(const unsigned char* b, float* y) {
  const float d = half(b);
  for (int j = 0; j < 32; ++j) y[j] = static_cast<float>(static_cast<std::int8_t>(b[2 + j])) * d;
}

// Q4_0: f16 d, qs[16] of two nibbles; element j is the low nibble of qs[j], element
// j + 16 the high one, both offset by 8.
void q4_0(const unsigned char* b, float* y) {
  const float d = half(b);
  const unsigned char* qs = b + 2;
  for (int j = 0; j < 16; ++j) {
    const int x0 = (qs[j] & 0x0F) - 8;
    const int x1 = (qs[j] >> 4) - 8;
    y[j] = static_cast<float>(x0) * d;
    y[j + 16] = static_cast<float>(x1) * d;
  }
}

// Q4_1: f16 d, f16 m, qs[16] as Q4_0's but unsigned; x = q·d + m.
void q4_1(const unsigned char* b, float* y) {
  const float d = half(b), m = half(b + 2);
  const unsigned char* qs = b + 4;
  for (int j = 0; j < 16; ++j) {
    const int x0 = qs[j] & 0x0F;
    const int x1 = qs[j] >> 4;
    y[j] = static_cast<float>(x0) * d + m;
    y[j + 16] = static_cast<float>(x1) * d + m;
  }
}

// The fifth bit of element j of a Q5_0/Q5_1 block (bit j of the little-endian qh), as
// 0 or 16.
int fifth_bit(std::uint32_t qh, int j) { return static_cast<int>((qh >> j) << 4 & 0x10); }

// Q5_0: f16 d, qh[4], qs[16]; as Q4_0 with a fifth bit per element, offset by 16.
void q5_0(const unsigned char* b, float* y) {
  const float d = half(b);
  std::uint32_t qh;
  std::memcpy(&qh, b + 2, 4);
  const unsigned char* qs = b + 6;
  for (int j = 0; j < 16; ++j) {
    const int x0 = ((qs[j] & 0x0F) | fifth_bit(qh, j)) - 16;
    const int x1 = ((qs[j] >> 4) | fifth_bit(qh, j + 16)) - 16;
    y[j] = static_cast<float>(x0) * d;
    y[j + 16] = static_cast<float>(x1) * d;
  }
}

// Q5_1: f16 d, f16 m, qh[4], qs[16]; x = q·d + m with 5-bit unsigned q.
void q5_1(const unsigned char* b, float* y) {
  const float d = half(b), m = half(b + 2);
  std::uint32_t qh;
  std::memcpy(&qh, b + 4, 4);
  const unsigned char* qs = b + 8;
  for (int j = 0; j < 16; ++j) {
    const int x0 = (qs[j] & 0x0F) | fifth_bit(qh, j);
    const int x1 = (qs[j] >> 4) | fifth_bit(qh, j + 16);
    y[j] = static_cast<float>(x0) * d + m;
    y[j + 16] = static_cast<float>(x1) * d + m;
  }
}

// The 6-bit scale and min of sub-block j from the 12 packed bytes of Q4_K/Q5_K.
void scale_min_k4(int j, const unsigned char* q, unsigned char* d, unsigned char* m) {
  if (j < 4) {
    *d = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *d = static_cast<unsigned char>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *m = static_cast<unsigned char>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

// Q4_K: f16 d, f16 dmin, scales[12], qs[128]; 8 sub-blocks of 32, x = d·sc·q − dmin·m.
void q4_k(const unsigned char* b, float* y) {
  const float d = half(b), min = half(b + 2);
  const unsigned char* scales = b + 4;
  const unsigned char* q = b + 16;
  int is = 0;
  for (int j = 0; j < kQK; j += 64) {
    unsigned char sc, m;
    scale_min_k4(is, scales, &sc, &m);
    const float d1 = d * sc, m1 = min * m;
    scale_min_k4(is + 1, scales, &sc, &m);
    const float d2 = d * sc, m2 = min * m;
    for (int l = 0; l < 32; ++l) *y++ = d1 * (q[l] & 0xF) - m1;
    for (int l = 0; l < 32; ++l) *y++ = d2 * (q[l] >> 4) - m2;
    q += 32;
    is += 2;
  }
}

// Q5_K: as Q4_K with a fifth bit per element in qh[32] (bit 2i and 2i+1 for the pair i).
void q5_k(const unsigned char* b, float* y) {
  const float d = half(b), min = half(b + 2);
  const unsigned char* scales = b + 4;
  const unsigned char* qh = b + 16;
  const unsigned char* ql = b + 48;
  int is = 0;
  unsigned u1 = 1, u2 = 2;
  for (int j = 0; j < kQK; j += 64) {
    unsigned char sc, m;
    scale_min_k4(is, scales, &sc, &m);
    const float d1 = d * sc, m1 = min * m;
    scale_min_k4(is + 1, scales, &sc, &m);
    const float d2 = d * sc, m2 = min * m;
    for (int l = 0; l < 32; ++l) *y++ = d1 * ((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
    for (int l = 0; l < 32; ++l) *y++ = d2 * ((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
    ql += 32;
    is += 2;
    u1 <<= 2;
    u2 <<= 2;
  }
}

// Q6_K: ql[128] low nibbles, qh[64] high 2-bit pairs, int8 scales[16], f16 d;
// x = d·scale·(q − 32) over 16 sub-blocks of 16.
void q6_k(const unsigned char* b, float* y) {
  const unsigned char* ql = b;
  const unsigned char* qh = b + 128;
  const unsigned char* sc_bytes = b + 192;
  const float d = half(b + 208);
  for (int n = 0; n < kQK; n += 128) {
    const auto sc = [&](int i) { return static_cast<std::int8_t>(sc_bytes[i]); };
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
      const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      y[l] = d * sc(is) * q1;
      y[l + 32] = d * sc(is + 2) * q2;
      y[l + 64] = d * sc(is + 4) * q3;
      y[l + 96] = d * sc(is + 6) * q4;
    }
    y += 128;
    ql += 64;
    qh += 32;
    sc_bytes += 8;
  }
}

template <void (*Block)(const unsigned char*, float*)>
void blocks(const unsigned char* src, std::uint64_t numel, int block, int block_bytes, float* dst) {
  for (std::uint64_t i = 0; i < numel / block; ++i) Block(src + i * block_bytes, dst + i * block);
}

}  // namespace

void dequantize(TensorType type, const unsigned char* src, std::uint64_t numel, float* dst) {
  switch (type) {
    case TensorType::F32:
      return convert_to_f32(DType::F32, src, numel, dst);
    case TensorType::F16:
      return convert_to_f32(DType::F16, src, numel, dst);
    case TensorType::BF16:
      return convert_to_f32(DType::BF16, src, numel, dst);
    case TensorType::Q4_1:
      return blocks<q4_1>(src, numel, 32, 20, dst);
    case TensorType::Q5_0:
      return blocks<q5_0>(src, numel, 32, 22, dst);
    case TensorType::Q5_1:
      return blocks<q5_1>(src, numel, 32, 24, dst);
    case TensorType::Q8_0:
      return blocks<q8_0>(src, numel, 32, 34, dst);
    case TensorType::Q4_0:
      return blocks<q4_0>(src, numel, 32, 18, dst);
    case TensorType::Q4_K:
      return blocks<q4_k>(src, numel, kQK, 144, dst);
    case TensorType::Q5_K:
      return blocks<q5_k>(src, numel, kQK, 176, dst);
    case TensorType::Q6_K:
      return blocks<q6_k>(src, numel, kQK, 210, dst);
  }
}

}  // namespace sonify::gguf
