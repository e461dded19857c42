/* fault_proc.h - what fault_rank and fault_soak share as plain processes of
 * one job (no MPI): the command line's RANK NRANKS ID_FILE, this rank's
 * device, the unique id passed through files, and the RESULT line. */
#ifndef ACCL_FAULT_PROC_H_
#define ACCL_FAULT_PROC_H_

#include <stddef.h>
#include "acc_ccl.h"

extern int rank, nranks, device;
extern const char* idFile;

/* CLOCK_MONOTONIC in seconds (the launcher's clock too). */
double now(void);

/* Reads RANK NRANKS ID_FILE from argv[1..3] (with at least `nargs`
 * arguments, else prints `usage` and returns 2), makes stdout line
 * buffered and sets this rank's device (rank modulo the devices there are).
 * Returns 0. */
int faultProcStart(int argc, char** argv, int nargs, const char* usage);

/* The file of the gen-th communicator's unique id: ID_FILE, then ID_FILE.G. */
void faultIdPath(int gen, char* out, size_t len);
/* Waits up to 60 s for the id file at path; 0 when read. */
int faultReadId(const char* path, acclUniqueId* id);
/* Writes the id file at path atomically (a temporary file, then rename); 0 when written. */
int faultWriteId(const char* path, const acclUniqueId* id);

/* RESULT rank=R phase=P code=C secs=S at=T async=A wrong=W guard=G err=TEXT;
 * async is comm's acclCommGetAsyncError after a failure (none without comm),
 * TEXT acclGetLastError (or `err` where not NULL). */
void faultResultLine(const char* phase, acclResult_t code, double t0, acclComm_t comm, long wrong, long guard,
                     const char* err);

#endif
