/* core/fabric.c - see core/fabric.h: libfabric loaded on first use, and the signal
 * dispositions of the process kept as they were around its set-up calls. */
#include "core/fabric.h"
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"

acclFabricApi acclFabric;

static pthread_mutex_t loadLock = PTHREAD_MUTEX_INITIALIZER;
static int loadState; /* 0 not tried, 1 loaded, -1 failed */
static char loadError[512];

/* The guard: one section at a time, the dispositions saved at its start. */
static pthread_mutex_t guardLock = PTHREAD_MUTEX_INITIALIZER;
static struct sigaction saved[NSIG];
static int savedOk[NSIG];

static int sameAction(const struct sigaction* a, const struct sigaction* b) {
  if ((a->sa_flags & SA_SIGINFO) != (b->sa_flags & SA_SIGINFO)) return 0;
  if (a->sa_flags & SA_SIGINFO) {
    if (a->sa_sigaction != b->sa_sigaction) return 0;
  } else if (a->sa_handler != b->sa_handler) {
    return 0;
  }
  if (a->sa_flags != b->sa_flags) return 0;
  for (int s = 1; s < NSIG; s++) /* sigset_t is larger than the kernel's mask: compare members */
    if (sigismember(&a->sa_mask, s) != sigismember(&b->sa_mask, s)) return 0;
  return 1;
}

void acclFabricGuardEnter(void) {
  pthread_mutex_lock(&guardLock);
  for (int s = 1; s < NSIG; s++) savedOk[s] = sigaction(s, NULL, &saved[s]) == 0;
}

void acclFabricGuardLeave(void) {
  for (int s = 1; s < NSIG; s++) {
    struct sigaction now;
    memset(&now, 0, sizeof(now));
    if (!savedOk[s] || sigaction(s, NULL, &now) != 0 || sameAction(&now, &saved[s])) continue;
    if (sigaction(s, &saved[s], NULL) == 0)
      INFO(ACCL_INIT | ACCL_NET, "libfabric changed the disposition of signal %d (%s): put back", s, strsignal(s));
    else
      WARN("libfabric changed the disposition of signal %d (%s) and it cannot be put back", s, strsignal(s));
  }
  pthread_mutex_unlock(&guardLock);
}

static int resolve(void* lib, const char* name, void** fn) {
  *fn = dlsym(lib, name);
  if (*fn) return 0;
  const char* err = dlerror();
  snprintf(loadError, sizeof(loadError), "%s has no %s: %s", ACCL_FABRIC_SONAME, name, err ? err : "not found");
  return -1;
}

static void loadLocked(void) {
  /* libinfinipath's constructor installs exit()-calling handlers unless this
   * is set (to anything); a value the user set stays. */
  setenv("IPATH_NO_BACKTRACE", "1", 0);
  acclFabricGuardEnter();
  void* lib = dlopen(ACCL_FABRIC_SONAME, RTLD_NOW | RTLD_LOCAL);
  acclFabricGuardLeave();
  if (lib == NULL) {
    const char* err = dlerror();
    snprintf(loadError, sizeof(loadError), "cannot load %s (install the Debian package libfabric1): %s",
             ACCL_FABRIC_SONAME, err ? err : "?");
    loadState = -1;
    return;
  }
  acclFabricApi api;
  if (resolve(lib, "fi_getinfo", (void**)&api.getinfo) || resolve(lib, "fi_freeinfo", (void**)&api.freeinfo) ||
      resolve(lib, "fi_dupinfo", (void**)&api.dupinfo) || resolve(lib, "fi_fabric", (void**)&api.fabric) ||
      resolve(lib, "fi_strerror", (void**)&api.strerror) || resolve(lib, "fi_tostr", (void**)&api.tostr)) {
    loadState = -1; /* libfabric stays loaded: it cannot be unloaded safely */
    return;
  }
  acclFabric = api;
  loadState = 1;
  INFO(ACCL_INIT | ACCL_NET, "NET/OFI: loaded %s", ACCL_FABRIC_SONAME);
}

acclResult_t acclFabricLoad(void) {
  pthread_mutex_lock(&loadLock);
  if (loadState == 0) loadLocked();
  int state = loadState;
  pthread_mutex_unlock(&loadLock);
  if (state > 0) return acclSuccess;
  ACCL_ERROR(acclSystemError, "NET/OFI: %s", loadError);
}
