/* test_id.c - unique id encoding: round trip, and every corruption rejected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <string.h>
#include "bootstrap/bootstrap.h"
#include "bootstrap/wire.h"
#include "bootstrap/socket.h"

static void makeId(acclUniqueId* id, uint8_t* secret) {
  acclSocketAddr a;
  assert_int_equal(acclSocketParseAddr("192.0.2.7:4242", &a), 0);
  for (int i = 0; i < ACCL_SECRET_BYTES; i++) secret[i] = (uint8_t)(i * 17 + 3);
  acclIdEncode(&a.sa, secret, id);
}

static void test_roundtrip_v4(void** state) {
  (void)state;
  acclUniqueId id;
  uint8_t secret[ACCL_SECRET_BYTES], got[ACCL_SECRET_BYTES];
  makeId(&id, secret);
  acclSocketAddr out;
  assert_int_equal(acclIdDecode(&id, &out.sa, got), acclSuccess);
  assert_memory_equal(secret, got, ACCL_SECRET_BYTES);
  char buf[80];
  assert_string_equal(acclSocketAddrStr(&out, buf, sizeof(buf)), "192.0.2.7:4242");
}

static void test_roundtrip_v6(void** state) {
  (void)state;
  acclSocketAddr a, out;
  assert_int_equal(acclSocketParseAddr("[fd00::2]:999", &a), 0);
  uint8_t secret[ACCL_SECRET_BYTES] = {1, 2, 3}, got[ACCL_SECRET_BYTES];
  acclUniqueId id;
  acclIdEncode(&a.sa, secret, &id);
  assert_int_equal(acclIdDecode(&id, &out.sa, got), acclSuccess);
  char buf[80];
  assert_string_equal(acclSocketAddrStr(&out, buf, sizeof(buf)), "[fd00::2]:999");
  assert_memory_equal(secret, got, ACCL_SECRET_BYTES);
}

/* Flipping any single bit of the id must be detected. */
static void test_every_bit_flip_rejected(void** state) {
  (void)state;
  acclUniqueId id;
  uint8_t secret[ACCL_SECRET_BYTES], got[ACCL_SECRET_BYTES];
  makeId(&id, secret);
  acclSocketAddr out;
  for (int byte = 0; byte < ACCL_UNIQUE_ID_BYTES; byte++) {
    for (int bit = 0; bit < 8; bit++) {
      acclUniqueId bad = id;
      bad.internal[byte] ^= (char)(1 << bit);
      assert_int_equal(acclIdDecode(&bad, &out.sa, got), acclInvalidArgument);
    }
  }
}

static void test_zero_and_garbage_rejected(void** state) {
  (void)state;
  acclUniqueId id;
  uint8_t got[ACCL_SECRET_BYTES];
  acclSocketAddr out;
  memset(&id, 0, sizeof(id));
  assert_int_equal(acclIdDecode(&id, &out.sa, got), acclInvalidArgument);
  assert_non_null(strstr(acclLastErrorText(), "magic"));
  memset(&id, 0x5a, sizeof(id));
  assert_int_equal(acclIdDecode(&id, &out.sa, got), acclInvalidArgument);
}

static void test_checksum_message(void** state) {
  (void)state;
  acclUniqueId id;
  uint8_t secret[ACCL_SECRET_BYTES], got[ACCL_SECRET_BYTES];
  makeId(&id, secret);
  id.internal[40] ^= 1; /* inside the secret */
  acclSocketAddr out;
  assert_int_equal(acclIdDecode(&id, &out.sa, got), acclInvalidArgument);
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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roundtrip_v4),
      cmocka_unit_test(test_roundtrip_v6),
      cmocka_unit_test(test_every_bit_flip_rejected),
      cmocka_unit_test(test_zero_and_garbage_rejected),
      cmocka_unit_test(test_checksum_message),
      cmocka_unit_test(test_hello_mac),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
