/* Loading the CUDA backend: libnt5-cuda.so is dlopen'ed on first use, so
 * libnt5 itself links no CUDA library and runs where there is none. It is
 * looked for at $NT5_CUDA_MODULE, else beside libnt5: <libdir>/nt5/ when
 * installed, <builddir>/kernels/ in the build tree; it is called only once
 * its contract (backend/cuda_module.h) is this libnt5's. */
#include "backend/cuda_loader.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/cuda_module.h"
#include "base/error.h"

#define MODULE_NAME "libnt5-cuda.so"

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static cuda_module_create_fn module_create;
static nt5_status load_status = NT5_ERR_NO_DEVICE; /* why module_create is NULL */
static char load_error[4096];
static const cuda_module_contract contract = CUDA_MODULE_CONTRACT;

static void *open_module(const char *path) {
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) snprintf(load_error, sizeof load_error, "%s", dlerror());
    return h;
}

/* The module at $NT5_CUDA_MODULE, else beside libnt5; NULL with load_error set. */
static void *find_module(char *path, size_t cap) {
    const char *env = getenv("NT5_CUDA_MODULE");
    if (env && *env) {
        snprintf(path, cap, "%s", env);
        return open_module(env);
    }
    Dl_info self;
    char dir[2048] = ".";
    if (dladdr((void *)cuda_backend_create, &self) && self.dli_fname && strrchr(self.dli_fname, '/'))
        snprintf(dir, sizeof dir, "%.*s", (int)(strrchr(self.dli_fname, '/') - self.dli_fname), self.dli_fname);
    static const char *const subdirs[] = {"nt5", "kernels"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, cap, "%s/%s/%s", dir, subdirs[i], MODULE_NAME);
        if (access(path, F_OK) == 0) return open_module(path);
    }
    snprintf(load_error, sizeof load_error,
             "%s is not installed (looked in %s/nt5 and %s/kernels; set "
             "NT5_CUDA_MODULE to its path)",
             MODULE_NAME, dir, dir);
    return NULL;
}

/* Whether the module at path (handle h) was built with this libnt5's contract. */
static int contract_matches(void *h, const char *path) {
    const cuda_module_contract *theirs = dlsym(h, NT5_CUDA_MODULE_CONTRACT_SYMBOL);
    char why[256];
    if (!theirs)
        snprintf(load_error, sizeof load_error,
                 "%s has no %s: not an nt5 CUDA module, or one older than this "
                 "libnt5 (install matching versions)",
                 path, NT5_CUDA_MODULE_CONTRACT_SYMBOL);
    else if (cuda_module_contract_differs(&contract, theirs, why, sizeof why))
        snprintf(load_error, sizeof load_error, "%s was built for another libnt5: %s (install matching versions)", path,
                 why);
    else return 1;
    load_status = NT5_ERR_DEVICE;
    return 0;
}

static void load_module(void) {
    char path[2200];
    void *h = find_module(path, sizeof path);
    if (!h || !contract_matches(h, path)) {
        if (h) dlclose(h);
        return;
    }
    if (!(module_create = (cuda_module_create_fn)dlsym(h, NT5_CUDA_MODULE_ENTRY))) {
        snprintf(load_error, sizeof load_error, "%s has no %s", path, NT5_CUDA_MODULE_ENTRY);
        load_status = NT5_ERR_DEVICE;
        dlclose(h);
    }
}

static const cuda_host host = {err_set};

/* Whether the NVIDIA driver's library can be loaded (cudart reports its
 * absence as "CUDA driver version is insufficient"). */
static int driver_loadable(void) {
    void *h = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
    if (h) dlclose(h);
    return h != NULL;
}

nt5_status cuda_backend_create(int device, int allow_tf32, backend **out) {
    pthread_once(&load_once, load_module);
    if (!module_create) return err_set(load_status, "the CUDA backend could not be loaded: %s", load_error);
    nt5_status st = module_create(&contract, &host, device, allow_tf32, out);
    if (st == NT5_ERR_NO_DEVICE && strstr(err_message(), "driver version is insufficient") && !driver_loadable())
        return err_set(NT5_ERR_NO_DEVICE, "no NVIDIA driver found (libcuda.so.1 cannot be loaded)");
    return st;
}

int cuda_driver_present(void) {
    return access("/dev/nvidiactl", F_OK) == 0 || access("/proc/driver/nvidia/version", F_OK) == 0;
}
