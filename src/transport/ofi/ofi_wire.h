/*
 * ofi_wire.h - what the ofi transport puts on the wire, as pure functions
 * (no libfabric, no state) so tests/transport/test_ofi_wire checks them
 * alone: the address record every rank publishes, the rma protocol's remote
 * CQ data, the tagged protocol's tag, and how a slot is cut into pieces (one
 * per rail).
 */
#ifndef ACCL_OFI_WIRE_H_
#define ACCL_OFI_WIRE_H_

#include <stddef.h>
#include <stdint.h>

#define ACCL_OFI_MAX_RAILS 4
#define ACCL_OFI_NAME_BYTES 64
#define ACCL_OFI_STRIPE_ALIGN 128

/* What each rank publishes through the bootstrap (allgathered as bytes, so
 * its layout is fixed). */
typedef struct {
  int32_t nrails;
  int32_t rma; /* can run the rma protocol */
  int32_t nameLen[ACCL_OFI_MAX_RAILS];
  char name[ACCL_OFI_MAX_RAILS][ACCL_OFI_NAME_BYTES];
  uint64_t regionBase; /* for FI_MR_VIRT_ADDR */
  uint64_t key[ACCL_OFI_MAX_RAILS];
} acclOfiAddrRecord;
_Static_assert(offsetof(acclOfiAddrRecord, name) == 24, "acclOfiAddrRecord: names follow the counts");
_Static_assert(offsetof(acclOfiAddrRecord, regionBase) == 24 + ACCL_OFI_MAX_RAILS * ACCL_OFI_NAME_BYTES,
               "acclOfiAddrRecord: no padding before regionBase");
_Static_assert(sizeof(acclOfiAddrRecord) ==
                   24 + ACCL_OFI_MAX_RAILS * ACCL_OFI_NAME_BYTES + 8 * (1 + ACCL_OFI_MAX_RAILS),
               "acclOfiAddrRecord: no padding");

/* ---- rma remote CQ data (8 bytes), a piece:
 *   | lane (8) | sender (20) | trailer (1) | 0 (3) | slot (8) | pieces-1 (2) | length (22) |
 * trailer: the piece's last 8 bytes are not data but the sender's count of
 * steps it has released on its connection from us on this lane (a credit
 * carried by a step going the other way, see ofi_rma.c). Slot
 * ACCL_OFI_RMA_CREDIT marks a credit: a write whose CQ data carries the low
 * 24 bits of the receiver's release count in place of pieces and length (its
 * 8 bytes land in a word nobody reads, so nothing races with them). */
#define ACCL_OFI_RMA_LANE_BITS 8
#define ACCL_OFI_RMA_SENDER_BITS 20
#define ACCL_OFI_RMA_SLOT_BITS 8
#define ACCL_OFI_RMA_PIECES_BITS 2
#define ACCL_OFI_RMA_LEN_BITS 22
_Static_assert(ACCL_OFI_RMA_LANE_BITS + ACCL_OFI_RMA_SENDER_BITS + 1 + 3 + ACCL_OFI_RMA_SLOT_BITS +
                       ACCL_OFI_RMA_PIECES_BITS + ACCL_OFI_RMA_LEN_BITS ==
                   64,
               "the rma CQ data fills 8 bytes");
_Static_assert((1 << ACCL_OFI_RMA_PIECES_BITS) >= ACCL_OFI_MAX_RAILS, "a piece per rail");
#define ACCL_OFI_RMA_CREDIT 0xff
#define ACCL_OFI_RMA_MAX_RANKS (1 << ACCL_OFI_RMA_SENDER_BITS)
#define ACCL_OFI_RMA_MAX_PIECE ((1u << ACCL_OFI_RMA_LEN_BITS) - 1)
#define ACCL_OFI_RMA_TRAILER (1ull << 35)
#define ACCL_OFI_RMA_CREDIT_MASK 0xffffffull /* the bits of a release count a credit carries */

static inline uint64_t acclOfiRmaData(int lane, int sender, int slot, int npieces, size_t len, int trailer) {
  return ((uint64_t)(lane & 0xff) << 56) | ((uint64_t)(sender & 0xfffff) << 36) | (trailer ? ACCL_OFI_RMA_TRAILER : 0) |
         ((uint64_t)(slot & 0xff) << 24) | ((uint64_t)((npieces - 1) & 3) << 22) |
         (uint64_t)(len & ACCL_OFI_RMA_MAX_PIECE);
}
static inline uint64_t acclOfiRmaCreditData(int lane, int sender, uint64_t released) {
  return ((uint64_t)(lane & 0xff) << 56) | ((uint64_t)(sender & 0xfffff) << 36) |
         ((uint64_t)ACCL_OFI_RMA_CREDIT << 24) | (released & ACCL_OFI_RMA_CREDIT_MASK);
}

/* Both kinds, decoded. A credit has slot ACCL_OFI_RMA_CREDIT and its count's
 * low bits in `released`; a piece has the other fields. */
typedef struct {
  int lane, sender, slot, npieces, trailer;
  size_t len;
  uint64_t released;
} acclOfiRmaFields;

static inline acclOfiRmaFields acclOfiRmaDecode(uint64_t data) {
  acclOfiRmaFields f;
  f.lane = (int)(data >> 56);
  f.sender = (int)((data >> 36) & 0xfffff);
  f.trailer = (data & ACCL_OFI_RMA_TRAILER) != 0;
  f.slot = (int)((data >> 24) & 0xff);
  f.npieces = (int)((data >> 22) & 3) + 1;
  f.len = (size_t)(data & ACCL_OFI_RMA_MAX_PIECE);
  f.released = data & ACCL_OFI_RMA_CREDIT_MASK;
  return f;
}

/* The full release count a credit announces, from the sender's current
 * credit `cur` and the credit's low 24 bits: counts move by less than 2^23
 * between two credits, so the nearest value with those low bits is it.
 * Never below cur (two threads may handle two credits out of order). */
static inline uint64_t acclOfiRmaWidenCredit(uint64_t cur, uint64_t low24) {
  int32_t delta =
      (int32_t)((uint32_t)((low24 - (cur & ACCL_OFI_RMA_CREDIT_MASK)) & ACCL_OFI_RMA_CREDIT_MASK) << 8) >> 8;
  return delta > 0 ? cur + (uint64_t)delta : cur;
}

/* ---- tagged protocol: tag of a piece | lane (8) | sender rank (24) | step (32) |:
 * the step makes every message match exactly one posted receive, in any
 * completion order. */
static inline uint64_t acclOfiTag(int lane, int sender, uint64_t step) {
  return ((uint64_t)(lane & 0xff) << 56) | ((uint64_t)(sender & 0xffffff) << 32) | (step & 0xffffffffu);
}

/* ---- pieces: a slot of `slotBytes` is striped over `nrails` rails in
 * pieces of acclOfiPieceBytes, 128-byte aligned. */
static inline size_t acclOfiPieceBytes(size_t slotBytes, int nrails) {
  size_t per = (slotBytes + (size_t)nrails - 1) / (size_t)nrails;
  return (per + ACCL_OFI_STRIPE_ALIGN - 1) / ACCL_OFI_STRIPE_ALIGN * ACCL_OFI_STRIPE_ALIGN;
}
/* Piece `rail` of a step of `bytes`: [off, off + len). Empty pieces (off 0)
 * still travel in the tagged protocol: the receiver counts them. */
static inline void acclOfiPiece(size_t pieceBytes, int rail, size_t bytes, size_t* off, size_t* len) {
  *off = (size_t)rail * pieceBytes;
  *len = *off < bytes ? (pieceBytes < bytes - *off ? pieceBytes : bytes - *off) : 0;
  if (*len == 0) *off = 0;
}
/* rma: how many pieces carry the step's bytes (at least one: it announces the step). */
static inline int acclOfiRmaPieces(size_t pieceBytes, int nrails, size_t bytes) {
  if (bytes == 0) return 1;
  size_t n = (bytes + pieceBytes - 1) / pieceBytes;
  return n < (size_t)nrails ? (int)n : nrails;
}

#endif
