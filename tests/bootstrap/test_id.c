/* test_id.c - unique id encoding: round trip, and every corruption rejected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <string.h>
#include "bootstrap/bootstrap.h"
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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roundtrip_v4),
      cmocka_unit_test(test_roundtrip_v6),
      cmocka_unit_test(test_every_bit_flip_rejected),
      cmocka_unit_test(test_zero_and_garbage_rejected),
      cmocka_unit_test(test_checksum_message),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
