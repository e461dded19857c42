/* tunables.h - the simulator's timing knobs, read once at start-up from the
 * ACCL_ parameters (the hot paths must not look parameters up). */
#ifndef ACCL_SIM_TUNABLES_H_
#define ACCL_SIM_TUNABLES_H_

#include <stdint.h>

typedef struct {
  uint64_t inlineNs;   /* ACCL_INLINE_NS: budget of a submitter running a program itself */
  uint64_t syncHelpNs; /* ACCL_SYNC_HELP_NS: how long a synchronizing thread runs a blocked queue itself */
  uint64_t spinNs;     /* ACCL_SIM_SPIN_NS: polling before yielding (engines and host waiters) */
  int yields;          /* ACCL_SIM_YIELDS: sched_yield rounds before sleeping */
  int engines;         /* ACCL_SIM_ENGINES: engine threads per device */
  uint64_t blockedNs;  /* re-check period of an engine whose streams wait on flags */
  uint64_t idleNs;     /* sleep of an engine with nothing queued at all */
} simTunables;

extern simTunables simTun;
void simTunablesLoad(void);

/* sim_stream.c: the inline ownership protocol (also used by event records). */
struct accStream_st;
int simStreamTryInline(struct accStream_st* s);
void simStreamInlineDone(struct accStream_st* s);

/* spinNs changes at run time (accDevHintOversubscribed): read it atomically. */
static inline uint64_t simSpinNs(void) { return __atomic_load_n(&simTun.spinNs, __ATOMIC_RELAXED); }

#endif
