/* uniqueid.c - where a job's bootstrap root is and the secret its ranks
 * share: a fresh root and random secret per acclGetUniqueId, or the root
 * pinned by ACCL_COMM_ID with the secret from ACCL_COMM_SECRET(_FILE). */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "bootstrap/bootstrap.h"
#include "bootstrap/wire.h"
#include "core/param.h"

/* Owner-only key file (as ssh insists on): anyone else who can read it
 * could join the job. */
static acclResult_t readSecretFile(const char* path, char* text, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    int e = errno;
    if (fd >= 0) close(fd);
    ACCL_ERROR(acclInvalidArgument, "ACCL_COMM_SECRET_FILE=%s: cannot open: %s", path, strerror(e));
  }
  const char* bad = !S_ISREG(st.st_mode)     ? "not a regular file"
                    : st.st_uid != geteuid() ? "not owned by this user"
                    : (st.st_mode & 077)     ? "readable or writable by group or others (chmod 600)"
                                             : NULL;
  ssize_t got = bad ? 0 : read(fd, text, cap - 1);
  close(fd);
  if (bad) ACCL_ERROR(acclInvalidArgument, "ACCL_COMM_SECRET_FILE=%s: %s", path, bad);
  if (got <= 0) ACCL_ERROR(acclInvalidArgument, "ACCL_COMM_SECRET_FILE=%s: empty or unreadable", path);
  text[got] = '\0';
  while (got > 0 && (text[got - 1] == '\n' || text[got - 1] == '\r' || text[got - 1] == ' ')) text[--got] = '\0';
  if (got == 0) ACCL_ERROR(acclInvalidArgument, "ACCL_COMM_SECRET_FILE=%s: empty", path);
  return acclSuccess;
}

/* ACCL_COMM_ID pins the root, so ranks meet without a unique id and need a
 * secret from elsewhere: ACCL_COMM_SECRET or ACCL_COMM_SECRET_FILE, which
 * the launcher hands to every rank. Without one the secret can only come
 * from the public address, so anyone who can reach it can join: init says so
 * once, and ACCL_COMM_SECRET_REQUIRED=1 refuses to start. */
acclResult_t acclBootstrapPinnedSecret(const char* commId, uint8_t secret[ACCL_SECRET_BYTES]) {
  char text[4096];
  const char* inline_ = acclParamCommSecret();
  const char* file = acclParamCommSecretFile();
  const char* key = NULL;
  if (file && *file) {
    ACCLCHECK(readSecretFile(file, text, sizeof(text)));
    key = text;
  } else if (inline_ && *inline_) {
    key = inline_;
  }
  if (key == NULL) {
    if (acclParamCommSecretRequired())
      ACCL_ERROR(acclInvalidUsage,
                 "ACCL_COMM_ID=%s without ACCL_COMM_SECRET or ACCL_COMM_SECRET_FILE, and "
                 "ACCL_COMM_SECRET_REQUIRED=1: refusing an unauthenticated bootstrap",
                 commId);
    static int warned;
    if (!__atomic_exchange_n(&warned, 1, __ATOMIC_ACQ_REL))
      WARN(
          "ACCL_COMM_ID=%s without ACCL_COMM_SECRET or ACCL_COMM_SECRET_FILE: the bootstrap is unauthenticated "
          "(anyone who can reach that address can join); set a shared secret",
          commId);
  }
  /* key and address both count: one secret reused for jobs pinned elsewhere
   * still gives each its own */
  acclSecretDerive(key ? key : "", commId, secret);
  return acclSuccess;
}

acclResult_t acclBootstrapPinnedRoot(const char* commId, acclSocketAddr* addr, uint8_t* secret) {
  if (acclSocketParseAddr(commId, addr) != 0)
    ACCL_ERROR(acclInvalidArgument, "ACCL_COMM_ID='%s' is not ip:port", commId);
  return acclBootstrapPinnedSecret(commId, secret);
}

static acclResult_t clearLocalFlag(acclUniqueId* id) {
  acclIdWire* w = (acclIdWire*)id->internal;
  w->flags = 0;
  w->checksum = acclIdChecksum(w, offsetof(acclIdWire, checksum));
  return acclSuccess;
}

acclResult_t acclBootstrapGetUniqueId(acclUniqueId* id) {
  acclSocketAddr addr;
  uint8_t secret[ACCL_SECRET_BYTES];
  const char* commId = acclParamCommId();
  if (commId && *commId) {
    /* The root is started by rank 0 in acclCommInitRank. */
    ACCLCHECK(acclBootstrapPinnedRoot(commId, &addr, secret));
    acclIdEncode(&addr.sa, secret, id);
    return acclSuccess;
  }
  return acclBootstrapGetLocalUniqueId(id) == acclSuccess ? clearLocalFlag(id) : acclSystemError;
}

acclResult_t acclBootstrapGetLocalUniqueId(acclUniqueId* id) {
  acclSocketAddr addr, listening;
  uint8_t secret[ACCL_SECRET_BYTES];
  ACCLCHECK(acclSocketBootstrapAddr(&addr, NULL, 0));
  ACCLCHECK(acclSecretNew(secret));
  ACCLCHECK(acclBootstrapRootStart(&addr, secret, &listening));
  acclIdEncode(&listening.sa, secret, id);
  acclIdWire* w = (acclIdWire*)id->internal;
  w->flags = ACCL_ID_LOCAL;
  w->checksum = acclIdChecksum(w, offsetof(acclIdWire, checksum));
  return acclSuccess;
}
