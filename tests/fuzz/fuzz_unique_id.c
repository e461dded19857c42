/* fuzz_unique_id.c - libFuzzer harness: the unique id decoder (acclIdDecode),
 * which reads 128 bytes that came from another process (MPI_Bcast, a file,
 * a launcher). Oracles: no crash or sanitizer report; an accepted id
 * re-encodes to the same bytes in every field the decoder interprets (magic,
 * version, family, port, address, secret, checksum: nothing is accepted that
 * the encoder could not have made); a refusal leaves a non-empty error text. */
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "bootstrap/bootstrap.h"
#include "core/core.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  acclUniqueId id;
  memset(&id, 0, sizeof(id));
  memcpy(id.internal, data, size < sizeof(id) ? size : sizeof(id));
  struct sockaddr_in6 addr;
  uint8_t secret[ACCL_SECRET_BYTES];
  acclSetLastError("%s", "");
  if (acclIdDecode(&id, (struct sockaddr*)&addr, secret) != acclSuccess) {
    fuzzCheckRefusal();
    return 0;
  }
  const acclIdWire* w = (const acclIdWire*)id.internal;
  acclUniqueId again;
  acclIdEncode((const struct sockaddr*)&addr, secret, &again);
  acclIdWire* a = (acclIdWire*)again.internal;
  /* fields the decoder does not interpret: flags (ACCL_ID_LOCAL is set after
   * encoding), padding, the reserved bytes and an IPv4 address's unused tail */
  a->flags = w->flags;
  memcpy(a->pad, w->pad, sizeof(a->pad));
  memcpy(a->reserved, w->reserved, sizeof(a->reserved));
  if (w->family == AF_INET) memcpy(a->addr + 4, w->addr + 4, sizeof(a->addr) - 4);
  a->checksum = acclIdChecksum(a, offsetof(acclIdWire, checksum));
  if (memcmp(&again, &id, sizeof(id)) != 0) FUZZ_FAIL("an accepted id does not re-encode to the same bytes");
  return 0;
}
