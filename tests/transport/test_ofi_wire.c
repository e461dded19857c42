/* test_ofi_wire.c - the ofi transport's wire encodings (ofi_wire.h): the rma
 * protocol's remote CQ data (pieces and credits, widening a credit's 24
 * bits), the tagged protocol's tags, and how a slot is cut into pieces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "../lib/unit_main.h"
#include "transport/ofi/ofi_wire.h"

/* Every field at its extremes comes back as it went, and none leaks into another. */
static void rmaPieceRoundTrip(void** state) {
  (void)state;
  const int lanes[] = {0, 1, 37, 255};
  const int senders[] = {0, 1, 4095, ACCL_OFI_RMA_MAX_RANKS - 1};
  const int slots[] = {0, 1, 15, 254};
  const size_t lens[] = {0, 1, 128, 131072, ACCL_OFI_RMA_MAX_PIECE};
  for (int a = 0; a < 4; a++)
    for (int b = 0; b < 4; b++)
      for (int s = 0; s < 4; s++)
        for (int np = 1; np <= ACCL_OFI_MAX_RAILS; np++)
          for (int l = 0; l < 5; l++)
            for (int tr = 0; tr < 2; tr++) {
              uint64_t d = acclOfiRmaData(lanes[a], senders[b], slots[s], np, lens[l], tr);
              acclOfiRmaFields f = acclOfiRmaDecode(d);
              assert_int_equal(f.lane, lanes[a]);
              assert_int_equal(f.sender, senders[b]);
              assert_int_equal(f.slot, slots[s]);
              assert_int_equal(f.npieces, np);
              assert_int_equal(f.len, lens[l]);
              assert_int_equal(f.trailer, tr);
              assert_int_not_equal(f.slot, ACCL_OFI_RMA_CREDIT);
              assert_int_equal(d & (7ull << 32), 0); /* the three zero bits */
            }
}

static void rmaPieceLayout(void** state) {
  (void)state;
  /* the documented layout, bit for bit */
  uint64_t d = acclOfiRmaData(0xab, 0x12345, 0x0c, 3, 0x2abcd, 1);
  assert_int_equal(d, (0xabull << 56) | (0x12345ull << 36) | (1ull << 35) | (0x0cull << 24) | (2ull << 22) | 0x2abcd);
  assert_int_equal(ACCL_OFI_RMA_MAX_RANKS, 1 << 20);
  assert_int_equal(ACCL_OFI_RMA_MAX_PIECE, (1u << 22) - 1);
}

static void rmaCredit(void** state) {
  (void)state;
  uint64_t d = acclOfiRmaCreditData(7, 1000, 0x1234567890ull);
  acclOfiRmaFields f = acclOfiRmaDecode(d);
  assert_int_equal(f.slot, ACCL_OFI_RMA_CREDIT);
  assert_int_equal(f.lane, 7);
  assert_int_equal(f.sender, 1000);
  assert_int_equal(f.trailer, 0);
  assert_int_equal(f.released, 0x567890);
}

/* The sender widens 24 bits to its full count: forward moves below 2^23 are
 * taken, a credit older than the current one never lowers it. */
static void rmaWidenCredit(void** state) {
  (void)state;
  const uint64_t curs[] = {0, 5, 0xfffffe, 0x1000000, 0x12fffff0, (1ull << 40) + 3};
  const uint64_t moves[] = {0, 1, 2, 1000, (1u << 23) - 1};
  for (int i = 0; i < 6; i++) {
    for (int m = 0; m < 5; m++) {
      uint64_t next = curs[i] + moves[m];
      assert_int_equal(acclOfiRmaWidenCredit(curs[i], next & ACCL_OFI_RMA_CREDIT_MASK), next);
      if (curs[i] >= moves[m]) /* an old credit, handled late by another thread */
        assert_int_equal(acclOfiRmaWidenCredit(curs[i], (curs[i] - moves[m]) & ACCL_OFI_RMA_CREDIT_MASK), curs[i]);
    }
  }
}

static void taggedTag(void** state) {
  (void)state;
  assert_int_equal(acclOfiTag(0, 0, 0), 0);
  assert_int_equal(acclOfiTag(0xff, 0xffffff, 0xffffffffull), UINT64_MAX);
  assert_int_equal(acclOfiTag(3, 70000, 5), (3ull << 56) | (70000ull << 32) | 5);
  /* the step wraps at 2^32: only nslots consecutive steps are ever posted */
  assert_int_equal(acclOfiTag(1, 2, (1ull << 32) + 9), acclOfiTag(1, 2, 9));
  /* distinct lanes, senders and steps never share a tag */
  assert_int_not_equal(acclOfiTag(1, 2, 3), acclOfiTag(2, 2, 3));
  assert_int_not_equal(acclOfiTag(1, 2, 3), acclOfiTag(1, 3, 3));
  assert_int_not_equal(acclOfiTag(1, 2, 3), acclOfiTag(1, 2, 4));
}

/* The pieces of a step cover its bytes exactly once, in rail order, each at
 * most pieceBytes; rma sends only the pieces that carry bytes. */
static void pieces(void** state) {
  (void)state;
  const size_t slotSizes[] = {4096, 131072, 524288, 1000};
  for (int k = 0; k < 4; k++) {
    for (int nrails = 1; nrails <= ACCL_OFI_MAX_RAILS; nrails++) {
      size_t pb = acclOfiPieceBytes(slotSizes[k], nrails);
      assert_int_equal(pb % ACCL_OFI_STRIPE_ALIGN, 0);
      assert_true(pb * (size_t)nrails >= slotSizes[k]);
      assert_true(pb < slotSizes[k] / (size_t)nrails + ACCL_OFI_STRIPE_ALIGN + 1);
      const size_t sizes[] = {0, 1, 8, pb - 1, pb, pb + 1, slotSizes[k] / 2, slotSizes[k]};
      for (int b = 0; b < 8; b++) {
        size_t bytes = sizes[b];
        if (bytes > slotSizes[k]) continue;
        size_t covered = 0;
        int carrying = 0;
        for (int r = 0; r < nrails; r++) {
          size_t off, len;
          acclOfiPiece(pb, r, bytes, &off, &len);
          assert_true(len <= pb);
          if (len == 0) {
            assert_int_equal(off, 0);
            continue;
          }
          assert_int_equal(off, covered);
          covered += len;
          carrying++;
        }
        assert_int_equal(covered, bytes);
        int np = acclOfiRmaPieces(pb, nrails, bytes);
        assert_int_equal(np, bytes ? carrying : 1);
        assert_true(np >= 1 && np <= nrails);
      }
    }
  }
}

UNIT_TEST_MAIN(cmocka_unit_test(rmaPieceRoundTrip), cmocka_unit_test(rmaPieceLayout), cmocka_unit_test(rmaCredit),
               cmocka_unit_test(rmaWidenCredit), cmocka_unit_test(taggedTag), cmocka_unit_test(pieces))
