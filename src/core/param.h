/* param.h - every ACCL_ parameter, in one table. A parameter NAME is read as
 * ACCL_NAME from the environment, else from the user's conf file
 * (ACCL_CONF_FILE, default ~/.acc-ccl.conf), else from /etc/acc-ccl.conf
 * (lines NAME=value with or without the ACCL_ prefix, '#' comments).
 *
 * The table below generates an id (ACCL_PARAM_NAME) and a typed getter
 * (acclParamName()) per parameter. One rule covers every bad value: a number
 * that does not parse, or a name that is not one of the choices, gives the
 * default; a number outside [lo, hi] is clamped to the nearest bound (and
 * rounded down to a multiple of mult); either way one WARN names the
 * variable, the value and what is used instead. Each parameter that is set
 * is logged once at INFO/ENV. The README's environment table is generated
 * from this one (tests/core/test_params checks it). */
#ifndef ACCL_PARAM_H_
#define ACCL_PARAM_H_

#include <stddef.h>
#include <stdint.h>

typedef enum {
  ACCL_PARAM_T_INT,  /* a number (K/M/G/T suffixes accepted) */
  ACCL_PARAM_T_SIZE, /* bytes, shown with K/M/G */
  ACCL_PARAM_T_BOOL, /* 0 or 1 */
  ACCL_PARAM_T_ENUM, /* one name of choices (case-insensitive); the getter returns its index */
  ACCL_PARAM_T_LIST, /* comma list of choices, leading ^ negates; the getter returns a bit mask */
  ACCL_PARAM_T_STR   /* free text, checked where it is used (a path, an address) */
} acclParamType;

#define ACCL_PARAM_NS_MAX 1000000000 /* one second */

/* X(Getter, NAME, type, numeric default, lo, hi, mult, text default, choices, default shown, meaning)
 * Numbers use the numeric columns, ENUM / LIST / STR the text ones. */
#define ACCL_PARAM_TABLE(X)                                                                                            \
  X(Debug, DEBUG, ENUM, 0, 0, 0, 0, "WARN", "NONE,VERSION,WARN,INFO,TRACE", "(none)",                                  \
    "log level; unset: no output; a bad value gives `WARN`")                                                           \
  X(DebugSubsys, DEBUG_SUBSYS, LIST, 0, 0, 0, 0, "INIT,BOOTSTRAP,ENV",                                                 \
    "INIT,BOOTSTRAP,COLL,P2P,SHM,NET,TOPO,TUNING,DEV,ENV,ALL", "`INIT,BOOTSTRAP,ENV`", "subsystems logged at INFO")    \
  X(DebugFile, DEBUG_FILE, STR, 0, 0, 0, 0, NULL, NULL, "stdout", "log file; `%h` host, `%p` pid")                     \
  X(DebugTimestampFormat, DEBUG_TIMESTAMP_FORMAT, STR, 0, 0, 0, 0, "[%F %T] ", NULL, "`[%F %T] `",                     \
    "strftime format of the time stamp that starts a log line (`_` is a space)")                                       \
  X(DebugTimestampLevels, DEBUG_TIMESTAMP_LEVELS, LIST, 0, 0, 0, 0, "WARN", "VERSION,WARN,INFO,TRACE", "`WARN`",       \
    "levels whose lines start with a time stamp")                                                                      \
  X(ConfFile, CONF_FILE, STR, 0, 0, 0, 0, NULL, NULL, "`~/.acc-ccl.conf`",                                             \
    "`NAME=value` lines; the environment wins over it, it wins over `/etc/acc-ccl.conf`")                              \
  X(SocketIfname, SOCKET_IFNAME, STR, 0, 0, 0, 0, NULL, NULL, "auto",                                                  \
    "bootstrap interfaces: prefixes, `^` exclude, `=` exact")                                                          \
  X(CommId, COMM_ID, STR, 0, 0, 0, 0, NULL, NULL, "",                                                                  \
    "`ip:port` of the bootstrap root (rank 0 starts it; every rank makes the same id itself)")                         \
  X(CommSecret, COMM_SECRET, STR, 0, 0, 0, 0, NULL, NULL, "",                                                          \
    "the job's shared secret with `ACCL_COMM_ID`; without one that bootstrap is unauthenticated and init says so")     \
  X(CommSecretFile, COMM_SECRET_FILE, STR, 0, 0, 0, 0, NULL, NULL, "",                                                 \
    "a file only its owner can read that holds the secret")                                                            \
  X(CommSecretRequired, COMM_SECRET_REQUIRED, BOOL, 0, 0, 1, 1, NULL, NULL, "0",                                       \
    "1: refuse `ACCL_COMM_ID` without a secret")                                                                       \
  X(BootstrapTimeout, BOOTSTRAP_TIMEOUT, INT, 120, 1, 86400, 1, NULL, NULL, "120",                                     \
    "seconds before init gives up on a missing rank (the rendezvous)")                                                 \
  X(BootstrapHelloTimeout, BOOTSTRAP_HELLO_TIMEOUT, INT, 5, 1, 3600, 1, NULL, NULL, "5",                               \
    "seconds a new bootstrap connection has to introduce itself")                                                      \
  X(Timeout, TIMEOUT, INT, 300, 0, 86400, 1, NULL, NULL, "300",                                                        \
    "seconds without progress before a collective fails; also bounds init's later bootstrap steps; 0: never")          \
  X(CheckMismatch, CHECK_MISMATCH, BOOL, 1, 0, 1, 1, NULL, NULL, "1",                                                  \
    "1: every rank checks its peers called the same (function, count, datatype, op, root); 0: sizes only")             \
  X(Hostid, HOSTID, STR, 0, 0, 0, 0, NULL, NULL, "hostname + boot id", "node identity (tests make several \"nodes\")") \
  X(Algo, ALGO, LIST, 0, 0, 0, 0, NULL, "ring,tree,direct,p2p,hier,rd,chain", "auto",                                  \
    "algorithms the tuner may choose (`p2p` serves send/recv whatever is set; `chain` only when named alone)")         \
  X(Deterministic, DETERMINISTIC, BOOL, 0, 0, 1, 1, NULL, NULL, "0",                                                   \
    "1: AllReduce, ReduceScatter and Reduce fold in rank order (`chain`) whatever ACCL_ALGO / ACCL_PROTO say")         \
  X(Proto, PROTO, LIST, 0, 0, 0, 0, NULL, "LL,Simple", "auto", "protocols the tuner may choose")                       \
  X(Nchannels, NCHANNELS, INT, 0, 0, 16, 1, NULL, NULL, "from topology", "ring channels; 0: one per ring found")       \
  X(SlotBytes, SLOT_BYTES, SIZE, 512 << 10, 4096, 1 << 30, 256, NULL, NULL,                                            \
    "512K (128K with network peers, a core per rank)", "Simple protocol step buffer per connection")                   \
  X(Nslots, NSLOTS, INT, 8, 2, 16, 1, NULL, NULL, "8", "Simple protocol step buffers per connection")                  \
  X(LlMaxBytes, LL_MAX_BYTES, SIZE, 16 << 10, 0, 1 << 20, 1, NULL, NULL, "16K", "largest one-shot LL AllReduce")       \
  X(RdMaxBytes, RD_MAX_BYTES, SIZE, 32 << 10, 0, 1 << 30, 1, NULL, NULL, "32K",                                        \
    "largest recursive-doubling AllReduce (between nodes)")                                                            \
  X(InlineNs, INLINE_NS, INT, 20000, 0, ACCL_PARAM_NS_MAX, 1, NULL, NULL, "20000",                                     \
    "a call on an idle stream runs on the caller's thread, waiting at most this long for peers")                       \
  X(InlineMaxBytes, INLINE_MAX_BYTES, SIZE, 1 << 20, 0, 1 << 30, 1, NULL, NULL, "1M",                                  \
    "largest call that runs on the caller's thread")                                                                   \
  X(SyncHelpNs, SYNC_HELP_NS, INT, 1000000, 0, ACCL_PARAM_NS_MAX, 1, NULL, NULL, "1000000",                            \
    "a thread in `accStreamSynchronize` runs the queued work itself until blocked this long")                          \
  X(SimSpinNs, SIM_SPIN_NS, INT, 5000, 0, ACCL_PARAM_NS_MAX, 1, NULL, NULL, "5000",                                    \
    "waiting threads poll this long, then yield (no polling when ranks outnumber cores)")                              \
  X(SimYields, SIM_YIELDS, INT, 8, 0, 100000, 1, NULL, NULL, "8", "waiting threads yield this often, then sleep")      \
  X(SimStreamBytes, SIM_STREAM_BYTES, SIZE, 32 << 20, 1, INT64_C(1) << 40, 1, NULL, NULL, "32M",                       \
    "outputs at least this large are written with streaming stores")                                                   \
  X(TopoBind, TOPO_BIND, BOOL, 1, 0, 1, 1, NULL, NULL, "1",                                                            \
    "bind engine and proxy threads to their device's NUMA node")                                                       \
  X(Transport, TRANSPORT, ENUM, 0, 0, 0, 0, "auto", "auto,shm,ofi", "auto", "`ofi` everywhere is for tests")           \
  X(OfiProvider, OFI_PROVIDER, STR, 0, 0, 0, 0, NULL, NULL, "best available",                                          \
    "libfabric provider, e.g. `tcp;ofi_rxm`, `efa` (else `FI_PROVIDER`)")                                              \
  X(OfiNrails, OFI_NRAILS, INT, 1, 1, 4, 1, NULL, NULL, "all", "endpoints / NICs to stripe over")                      \
  X(OfiProtocol, OFI_PROTOCOL, ENUM, 0, 0, 0, 0, "auto", "auto,rma,tagged", "auto",                                    \
    "`rma` writes into the receiver's buffers (needs FI_RMA); auto takes rma when offered")                            \
  X(NetSpinNs, NET_SPIN_NS, INT, 30000, 0, 1000000, 1, NULL, NULL, "30000",                                            \
    "calls that wait on the network poll this long before yielding")                                                   \
  X(NetPollNs, NET_POLL_NS, INT, 2000000, 0, 100000000, 1, NULL, NULL, "2000000",                                      \
    "an engine polls a network collective this long after it last moved, before sleeping (off when ranks outnumber "   \
    "cores)")                                                                                                          \
  X(SimDevices, SIM_DEVICES, INT, 8, 1, 64, 1, NULL, NULL, "8", "simulated devices per node")                          \
  X(SimMem, SIM_MEM, SIZE, INT64_C(16) << 30, 1 << 20, INT64_C(1) << 40, 4096, NULL, NULL, "16G",                      \
    "device memory per device")                                                                                        \
  X(SimTopo, SIM_TOPO, STR, 0, 0, 0, 0, "ring", NULL, "`ring`",                                                        \
    "chip links: `ring`, `torus2d`, `full`, or an XML file")                                                           \
  X(SimEngines, SIM_ENGINES, INT, 1, 1, 64, 1, NULL, NULL, "1", "engine threads per device")                           \
  X(SimIsa, SIM_ISA, ENUM, 0, 0, 0, 0, "auto", "auto,portable,avx2,avx512", "auto", "reduction kernels")               \
  X(TopoFile, TOPO_FILE, STR, 0, 0, 0, 0, NULL, NULL, "", "load the node's topology (XML)")                            \
  X(TopoDumpFile, TOPO_DUMP_FILE, STR, 0, 0, 0, 0, NULL, NULL, "", "write the node's topology (XML)")                  \
  X(GraphFile, GRAPH_FILE, STR, 0, 0, 0, 0, NULL, NULL, "", "force rings and trees (XML)")                             \
  X(GraphDumpFile, GRAPH_DUMP_FILE, STR, 0, 0, 0, 0, NULL, NULL, "", "write the rings and trees chosen (XML)")

typedef enum {
#define ACCL_PARAM_ID(g, N, ...) ACCL_PARAM_##N,
  ACCL_PARAM_TABLE(ACCL_PARAM_ID)
#undef ACCL_PARAM_ID
      ACCL_NUM_PARAMS
} acclParamId;

typedef struct {
  const char* name; /* without ACCL_ */
  acclParamType type;
  int64_t deflt, lo, hi, mult;
  const char* sdeflt;  /* ENUM / LIST / STR default (NULL: unset; for LIST every choice) */
  const char* choices; /* ENUM / LIST: comma-separated names */
  const char* shown;   /* the default as the README shows it */
  const char* meaning;
} acclParamDef;

extern const acclParamDef acclParamDefs[ACCL_NUM_PARAMS];

/* The generic getters; the typed ones below are what callers use. */
int64_t acclParamGetInt(acclParamId id);     /* INT, SIZE, BOOL */
int acclParamGetEnum(acclParamId id);        /* index into choices */
uint32_t acclParamGetList(acclParamId id);   /* bit i: choice i */
const char* acclParamGetStr(acclParamId id); /* STR: the value or the text default (may be NULL) */
/* INT / SIZE whose default depends on the machine: deflt replaces the table's. */
int64_t acclParamGetIntDefault(acclParamId id, int64_t deflt);
/* Whether the parameter was set (environment or a conf file). */
int acclParamIsSet(acclParamId id);

#define ACCL_PARAM_CTYPE_INT int64_t
#define ACCL_PARAM_CTYPE_SIZE int64_t
#define ACCL_PARAM_CTYPE_BOOL int64_t
#define ACCL_PARAM_CTYPE_ENUM int
#define ACCL_PARAM_CTYPE_LIST uint32_t
#define ACCL_PARAM_CTYPE_STR const char*
#define ACCL_PARAM_GETTER_INT acclParamGetInt
#define ACCL_PARAM_GETTER_SIZE acclParamGetInt
#define ACCL_PARAM_GETTER_BOOL acclParamGetInt
#define ACCL_PARAM_GETTER_ENUM acclParamGetEnum
#define ACCL_PARAM_GETTER_LIST acclParamGetList
#define ACCL_PARAM_GETTER_STR acclParamGetStr
#define ACCL_PARAM_TYPED(g, N, T, ...) \
  static inline ACCL_PARAM_CTYPE_##T acclParam##g(void) { return ACCL_PARAM_GETTER_##T(ACCL_PARAM_##N); }
ACCL_PARAM_TABLE(ACCL_PARAM_TYPED)
#undef ACCL_PARAM_TYPED

/* Every comma list with ^ negation goes through this parser: "a,b", "^a"
 * (every choice but a). Names match case-insensitively. Returns the mask of
 * choices (bit i: choice i of the comma-separated list) or -1 when a name is
 * not a choice (*bad then points at it; with NULL value or "" every choice). */
int64_t acclParseNameList(const char* value, const char* choices, char* bad, size_t badlen);

/* Pure resolver, for tests: what the getters compute from a raw value (NULL:
 * unset). Returns 1 and writes the warning into warn when the value is bad. */
typedef struct {
  int64_t i;     /* INT/SIZE/BOOL value, ENUM index, LIST mask */
  const char* s; /* STR: raw or the table's text default */
} acclParamValue;
int acclParamResolve(acclParamId id, const char* raw, int64_t deflt, acclParamValue* out, char* warn, size_t warnlen);

/* Raw lookup without logging (the logger reads its own settings with it).
 * *source is set to "environment", a conf file's path, or NULL. */
const char* acclParamRaw(acclParamId id, const char** source);
/* Log (once) the INFO and any WARN for a parameter read with acclParamRaw. */
void acclParamReport(acclParamId id);

/* Parse "16G", "512M", "4096" into bytes; -1 when malformed. */
int64_t acclParseSize(const char* s);
/* Forget cached values (tests change the environment between cases); strings
 * returned before are freed. */
void acclParamReset(void);
/* Tests: read the system-wide conf file from path instead of /etc/acc-ccl.conf. */
void acclParamSetSystemConf(const char* path);

/* Pure helper for tests: look NAME up in the text of a conf file. Returns 1 and
 * copies the value into out when found, 0 otherwise. */
int acclConfLookup(const char* text, const char* name, char* out, size_t outlen);

/* Write the README's environment table (markdown rows after the header) into
 * out; returns the length it needs. */
size_t acclParamReadmeTable(char* out, size_t outlen);

#endif
