/* sim_ll.c - the DMA engine's LL formatting: data travels as 8-byte lines
 * carrying 4 data bytes and a 4-byte flag, so a receiver that sees the flag
 * of a line sees its data (one store publishes both; no fence needed). */
#include <string.h>
#include "device/sim/sim.h"

void simLLPack(uint64_t* lines, const void* src, size_t bytes, uint32_t flag) {
  const unsigned char* s = src;
  size_t words = bytes / 4, i;
  const uint64_t hi = (uint64_t)flag << 32;
  for (i = 0; i < words; i++) {
    uint32_t w;
    memcpy(&w, s + 4 * i, 4);
    __atomic_store_n(&lines[i], hi | w, __ATOMIC_RELAXED);
  }
  if (bytes % 4) { /* tail: zero-padded last word */
    uint32_t w = 0;
    memcpy(&w, s + 4 * i, bytes % 4);
    __atomic_store_n(&lines[i], hi | w, __ATOMIC_RELAXED);
  }
  __atomic_thread_fence(__ATOMIC_RELEASE);
}

void simLLUnpack(void* dst, const uint64_t* lines, size_t bytes) {
  unsigned char* d = dst;
  size_t words = bytes / 4, i;
  for (i = 0; i < words; i++) {
    uint32_t w = (uint32_t)__atomic_load_n(&lines[i], __ATOMIC_RELAXED);
    memcpy(d + 4 * i, &w, 4);
  }
  if (bytes % 4) {
    uint32_t w = (uint32_t)__atomic_load_n(&lines[i], __ATOMIC_RELAXED);
    memcpy(d + 4 * i, &w, bytes % 4);
  }
}
