/* id.c - the unique id codec and the small wire helpers. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include "bootstrap/wire.h"
#include "core/param.h"

_Static_assert(sizeof(acclIdWire) == ACCL_UNIQUE_ID_BYTES, "acclIdWire must fill acclUniqueId exactly");
_Static_assert(sizeof(acclHello) == 64, "acclHello is 64 bytes on the wire");

/* FNV-1a over the bytes, then a final avalanche (splitmix64) so that single
 * bit flips anywhere change many bits of the result. */
uint64_t acclIdChecksum(const void* data, size_t len) {
  const uint8_t* p = data;
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < len; i++) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

void acclIdEncode(const struct sockaddr* addr, const uint8_t secret[ACCL_SECRET_BYTES], acclUniqueId* id) {
  acclIdWire w;
  memset(&w, 0, sizeof(w));
  w.magic = ACCL_ID_MAGIC;
  w.version = ACCL_ID_VERSION;
  w.family = addr->sa_family;
  if (addr->sa_family == AF_INET) {
    const struct sockaddr_in* s = (const struct sockaddr_in*)addr;
    w.port = s->sin_port;
    memcpy(w.addr, &s->sin_addr, 4);
  } else {
    const struct sockaddr_in6* s = (const struct sockaddr_in6*)addr;
    w.port = s->sin6_port;
    memcpy(w.addr, &s->sin6_addr, 16);
  }
  memcpy(w.secret, secret, ACCL_SECRET_BYTES);
  w.checksum = acclIdChecksum(&w, offsetof(acclIdWire, checksum));
  memcpy(id->internal, &w, sizeof(w));
}

/* Only the last-error text: the caller WARNs with the argument's name. */
static acclResult_t idError(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
static acclResult_t idError(const char* fmt, ...) {
  char text[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof(text), fmt, ap);
  va_end(ap);
  acclSetLastError("%s", text);
  return acclInvalidArgument;
}

acclResult_t acclIdDecode(const acclUniqueId* id, struct sockaddr* addr, uint8_t secret[ACCL_SECRET_BYTES]) {
  acclIdWire w;
  memcpy(&w, id->internal, sizeof(w));
  if (w.magic != ACCL_ID_MAGIC)
    return idError(
        "unique id is not an acc-ccl id (bad magic 0x%08x): was it made by acclGetUniqueId and broadcast whole?",
        w.magic);
  if (w.version != ACCL_ID_VERSION)
    return idError("unique id has version %u, this library reads version %d", w.version, ACCL_ID_VERSION);
  if (w.checksum != acclIdChecksum(&w, offsetof(acclIdWire, checksum)))
    return idError("unique id is corrupted (checksum mismatch)");
  if (w.family != AF_INET && w.family != AF_INET6)
    return idError("unique id holds an unknown address family %u", w.family);
  if (w.port == 0) return idError("unique id holds port 0");
  if (w.family == AF_INET) {
    struct sockaddr_in* s = (struct sockaddr_in*)addr;
    memset(s, 0, sizeof(*s));
    s->sin_family = AF_INET;
    s->sin_port = w.port;
    memcpy(&s->sin_addr, w.addr, 4);
  } else {
    struct sockaddr_in6* s = (struct sockaddr_in6*)addr;
    memset(s, 0, sizeof(*s));
    s->sin6_family = AF_INET6;
    s->sin6_port = w.port;
    memcpy(&s->sin6_addr, w.addr, 16);
  }
  memcpy(secret, w.secret, ACCL_SECRET_BYTES);
  return acclSuccess;
}

void acclAddrToWire(const acclSocketAddr* addr, acclAddrWire* w) {
  memset(w, 0, sizeof(*w));
  w->family = addr->sa.sa_family;
  if (addr->sa.sa_family == AF_INET) {
    w->port = addr->sin.sin_port;
    memcpy(w->addr, &addr->sin.sin_addr, 4);
  } else {
    w->port = addr->sin6.sin6_port;
    memcpy(w->addr, &addr->sin6.sin6_addr, 16);
  }
}

void acclAddrFromWire(const acclAddrWire* w, acclSocketAddr* addr) {
  memset(addr, 0, sizeof(*addr));
  if (w->family == AF_INET) {
    addr->sin.sin_family = AF_INET;
    addr->sin.sin_port = w->port;
    memcpy(&addr->sin.sin_addr, w->addr, 4);
  } else {
    addr->sin6.sin6_family = AF_INET6;
    addr->sin6.sin6_port = w->port;
    memcpy(&addr->sin6.sin6_addr, w->addr, 16);
  }
}

int acclSecretEqual(const uint8_t* a, const uint8_t* b) {
  uint8_t diff = 0;
  for (int i = 0; i < ACCL_SECRET_BYTES; i++) diff |= (uint8_t)(a[i] ^ b[i]);
  return diff == 0;
}

acclResult_t acclSecretNew(uint8_t secret[ACCL_SECRET_BYTES]) {
  size_t got = 0;
  while (got < ACCL_SECRET_BYTES) {
    ssize_t r = getrandom(secret + got, ACCL_SECRET_BYTES - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      ACCL_ERROR(acclSystemError, "bootstrap: getrandom failed: %s", strerror(errno));
    }
    got += (size_t)r;
  }
  return acclSuccess;
}

/* SipHash-2-4 (Aumasson and Bernstein): a keyed 64-bit PRF. */
static uint64_t rotl64(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }
#define SIP_ROUND(v0, v1, v2, v3) \
  do {                            \
    v0 += v1;                     \
    v1 = rotl64(v1, 13);          \
    v1 ^= v0;                     \
    v0 = rotl64(v0, 32);          \
    v2 += v3;                     \
    v3 = rotl64(v3, 16);          \
    v3 ^= v2;                     \
    v0 += v3;                     \
    v3 = rotl64(v3, 21);          \
    v3 ^= v0;                     \
    v2 += v1;                     \
    v1 = rotl64(v1, 17);          \
    v1 ^= v2;                     \
    v2 = rotl64(v2, 32);          \
  } while (0)

static uint64_t sipHash24(uint64_t k0, uint64_t k1, const uint8_t* in, size_t len) {
  uint64_t v0 = k0 ^ 0x736f6d6570736575ULL, v1 = k1 ^ 0x646f72616e646f6dULL;
  uint64_t v2 = k0 ^ 0x6c7967656e657261ULL, v3 = k1 ^ 0x7465646279746573ULL;
  size_t full = len & ~(size_t)7;
  for (size_t i = 0; i < full; i += 8) {
    uint64_t m = 0;
    for (int b = 0; b < 8; b++) m |= (uint64_t)in[i + (size_t)b] << (8 * b);
    v3 ^= m;
    SIP_ROUND(v0, v1, v2, v3);
    SIP_ROUND(v0, v1, v2, v3);
    v0 ^= m;
  }
  uint64_t last = (uint64_t)(len & 0xff) << 56;
  for (size_t b = 0; b < (len & 7); b++) last |= (uint64_t)in[full + b] << (8 * b);
  v3 ^= last;
  SIP_ROUND(v0, v1, v2, v3);
  SIP_ROUND(v0, v1, v2, v3);
  v0 ^= last;
  v2 ^= 0xff;
  for (int r = 0; r < 4; r++) SIP_ROUND(v0, v1, v2, v3);
  return v0 ^ v1 ^ v2 ^ v3;
}

void acclSecretDerive(const char* key, const char* salt, uint8_t secret[ACCL_SECRET_BYTES]) {
  size_t kl = strlen(key), sl = strlen(salt);
  uint8_t buf[4096 + 512];
  size_t len = 0;
  /* length-prefixed so that ("ab", "c") and ("a", "bc") differ */
  uint32_t klen = (uint32_t)kl;
  memcpy(buf, &klen, 4);
  len = 4;
  if (kl > sizeof(buf) - 4 - 256) kl = sizeof(buf) - 4 - 256;
  memcpy(buf + len, key, kl);
  len += kl;
  if (sl > 255) sl = 255;
  memcpy(buf + len, salt, sl);
  len += sl;
  uint64_t a = sipHash24(0x6163632d63636c31ULL, 0x626f6f7473747261ULL, buf, len);
  uint64_t b = sipHash24(0x7069746e6e656420ULL, 0x7365637265742d32ULL, buf, len);
  memcpy(secret, &a, 8);
  memcpy(secret + 8, &b, 8);
}

void acclHelloMac(const uint8_t* secret, const uint8_t* challenge, const acclHello* h, uint8_t mac[ACCL_SECRET_BYTES]) {
  /* domain byte, challenge, the hello with its mac field zero; two PRF
   * outputs (domain 1, 2) make 128 bits */
  uint8_t buf[1 + ACCL_CHALLENGE_BYTES + sizeof(acclHello)];
  acclHello c = *h;
  memset(c.mac, 0, sizeof(c.mac));
  memcpy(buf + 1, challenge, ACCL_CHALLENGE_BYTES);
  memcpy(buf + 1 + ACCL_CHALLENGE_BYTES, &c, sizeof(c));
  uint64_t k0 = 0, k1 = 0;
  for (int b = 0; b < 8; b++) {
    k0 |= (uint64_t)secret[b] << (8 * b);
    k1 |= (uint64_t)secret[8 + b] << (8 * b);
  }
  buf[0] = 1;
  uint64_t a = sipHash24(k0, k1, buf, sizeof(buf));
  buf[0] = 2;
  uint64_t b = sipHash24(k0, k1, buf, sizeof(buf));
  memcpy(mac, &a, 8);
  memcpy(mac + 8, &b, 8);
}

int acclHelloVerify(const uint8_t* secret, const uint8_t* challenge, const acclHello* h) {
  uint8_t want[ACCL_SECRET_BYTES];
  acclHelloMac(secret, challenge, h, want);
  return acclSecretEqual(want, h->mac);
}

void acclHelloFill(acclHello* h, const uint8_t* secret, const uint8_t* challenge, int kind, int rank, int nranks,
                   const acclSocketAddr* addr) {
  memset(h, 0, sizeof(*h));
  h->magic = ACCL_HELLO_MAGIC;
  h->kind = kind;
  h->rank = rank;
  h->nranks = nranks;
  if (addr) acclAddrToWire(addr, &h->addr);
  acclHelloMac(secret, challenge, h, h->mac);
}

uint64_t acclBootstrapTimeoutNs(void) {
  int64_t s = acclParamBootstrapTimeout();
  return (uint64_t)s * 1000000000ULL;
}
