/* test_id.c - unique id encoding: round trip, and every corruption rejected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "../lib/unit_main.h"
#include <arpa/inet.h>
#include <string.h>
#include "bootstrap/bootstrap.h"
#include "bootstrap/wire.h"
#include "bootstrap/socket.h"

static void fillSecret(uint8_t* secret) {
  for (int i = 0; i < ACCL_SECRET_BYTES; i++) secret[i] = (uint8_t)(i * 17 + 3);
}

static void makeId(acclUniqueId* id, uint8_t* secret) {
  acclSocketAddr a;
  assert_int_equal(acclSocketParseAddr("192.0.2.7:4242", &a), 0);
  fillSecret(secret);
  acclIdEncode(&a.sa, secret, id);
}

/* acclIdDecode of id, the address and secret thrown away. */
static acclResult_t decode(const acclUniqueId* id) {
  acclSocketAddr out;
  uint8_t got[ACCL_SECRET_BYTES];
  return acclIdDecode(id, &out.sa, got);
}

/* addr and secret encoded, then decoded: the same secret, and the address prints as addr. */
static void roundtrip(const char* addr, const uint8_t* secret) {
  acclSocketAddr a, out;
  assert_int_equal(acclSocketParseAddr(addr, &a), 0);
  acclUniqueId id;
  acclIdEncode(&a.sa, secret, &id);
  uint8_t got[ACCL_SECRET_BYTES];
  assert_int_equal(acclIdDecode(&id, &out.sa, got), acclSuccess);
  assert_memory_equal(secret, got, ACCL_SECRET_BYTES);
  char buf[80];
  assert_string_equal(acclSocketAddrStr(&out, buf, sizeof(buf)), addr);
}

static void test_roundtrip(void** state) {
  (void)state;
  uint8_t secret[ACCL_SECRET_BYTES], small[ACCL_SECRET_BYTES] = {1, 2, 3};
  fillSecret(secret);
  roundtrip("192.0.2.7:4242", secret);
  roundtrip("[fd00::2]:999", small);
}

/* Flipping any single bit of the id must be detected. */
static void test_every_bit_flip_rejected(void** state) {
  (void)state;
  acclUniqueId id;
  uint8_t secret[ACCL_SECRET_BYTES];
  makeId(&id, secret);
  for (int byte = 0; byte < ACCL_UNIQUE_ID_BYTES; byte++) {
    for (int bit = 0; bit < 8; bit++) {
      acclUniqueId bad = id;
      bad.internal[byte] ^= (char)(1 << bit);
      assert_int_equal(decode(&bad), acclInvalidArgument);
    }
  }
}

static void test_zero_and_garbage_rejected(void** state) {
  (void)state;
  acclUniqueId id;
  memset(&id, 0, sizeof(id));
  assert_int_equal(decode(&id), acclInvalidArgument);
  assert_non_null(strstr(acclLastErrorText(), "magic"));
  memset(&id, 0x5a, sizeof(id));
  assert_int_equal(decode(&id), acclInvalidArgument);
}

static void test_checksum_message(void** state) {
  (void)state;
  acclUniqueId id;
  uint8_t secret[ACCL_SECRET_BYTES];
  makeId(&id, secret);
  id.internal[40] ^= 1; /* inside the secret */
  assert_int_equal(decode(&id), acclInvalidArgument);
  assert_non_null(strstr(acclLastErrorText(), "corrupted"));
}

/* A hello answers one challenge under one secret: any other challenge (a
 * recording replayed to a root that drew a fresh one), secret, or a changed
 * byte of the hello does not verify, and the secret is nowhere in it. */
static void test_hello_mac(void** state) {
  (void)state;
  uint8_t secret[ACCL_SECRET_BYTES], other[ACCL_SECRET_BYTES], ch[ACCL_CHALLENGE_BYTES], ch2[ACCL_CHALLENGE_BYTES];
  for (int i = 0; i < ACCL_SECRET_BYTES; i++) secret[i] = other[i] = (uint8_t)(i * 29 + 1);
  other[15] ^= 0x80;
  for (int i = 0; i < ACCL_CHALLENGE_BYTES; i++) ch[i] = ch2[i] = (uint8_t)(i * 7 + 5);
  ch2[0] ^= 1;
  acclSocketAddr a;
  assert_int_equal(acclSocketParseAddr("192.0.2.7:4242", &a), 0);
  acclHello h;
  acclHelloFill(&h, secret, ch, ACCL_HELLO_ROOT, 3, 8, &a);
  assert_true(acclHelloVerify(secret, ch, &h));
  assert_false(acclHelloVerify(secret, ch2, &h));
  assert_false(acclHelloVerify(other, ch, &h));
  for (size_t off = 0; off < sizeof(h); off++) {
    acclHello bad = h;
    ((uint8_t*)&bad)[off] ^= 0x04;
    assert_false(acclHelloVerify(secret, ch, &bad));
  }
  for (size_t off = 0; off + ACCL_SECRET_BYTES <= sizeof(h); off++)
    assert_memory_not_equal((uint8_t*)&h + off, secret, ACCL_SECRET_BYTES);
  acclHello h2;
  acclHelloFill(&h2, secret, ch2, ACCL_HELLO_ROOT, 3, 8, &a);
  assert_memory_not_equal(h.mac, h2.mac, sizeof(h.mac));
}

UNIT_TEST_MAIN(cmocka_unit_test(test_roundtrip), cmocka_unit_test(test_every_bit_flip_rejected),
               cmocka_unit_test(test_zero_and_garbage_rejected), cmocka_unit_test(test_checksum_message),
               cmocka_unit_test(test_hello_mac))
