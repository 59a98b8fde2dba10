/* OpenBLAS starts a thread per core when it is loaded, each with a 128 MiB
 * work buffer it retries forever to map, and exit waits for them: under
 * `ulimit -v` the tool would never end. libnt5 runs BLAS on its own threads,
 * so those threads never work for it. OpenBLAS reads their number from the
 * environment as it loads, before main, so the tool sets it and starts
 * itself again (once; a value the user set is kept). */
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"

void no_blas_threads(char **argv) {
    if (getenv("OPENBLAS_NUM_THREADS")) return;
    if (setenv("OPENBLAS_NUM_THREADS", "1", 0) != 0) return;
    execv("/proc/self/exe", argv); /* returns only on failure: carry on as we are */
}
