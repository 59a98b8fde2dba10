/* Loading the CUDA backend: libnt5-cuda.so is dlopen'ed on first use, so
 * libnt5 itself links no CUDA library and runs where there is none. It is
 * looked for at $NT5_CUDA_MODULE, else beside libnt5: <libdir>/nt5/ when
 * installed, <builddir>/kernels/ in the build tree. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"
#include "backend/cuda_module.h"
#include "base/error.h"

#define MODULE_NAME "libnt5-cuda.so"

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static cuda_module_create_fn module_create;
static char load_error[1024];

static void *open_module(const char *path) {
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) snprintf(load_error, sizeof load_error, "%s", dlerror());
    return h;
}

static void load_module(void) {
    const char *env = getenv("NT5_CUDA_MODULE");
    void *h = NULL;
    if (env && *env) {
        h = open_module(env);
    } else {
        Dl_info self;
        char dir[2048] = ".", path[2200];
        if (dladdr((void *)cuda_backend_create, &self) && self.dli_fname && strrchr(self.dli_fname, '/'))
            snprintf(dir, sizeof dir, "%.*s", (int)(strrchr(self.dli_fname, '/') - self.dli_fname), self.dli_fname);
        static const char *const subdirs[] = {"nt5", "kernels"};
        for (int i = 0; i < 2 && !h; i++) {
            snprintf(path, sizeof path, "%s/%s/%s", dir, subdirs[i], MODULE_NAME);
            if (access(path, F_OK) == 0) h = open_module(path);
        }
        if (!h && !load_error[0])
            snprintf(load_error, sizeof load_error, "%s is not installed (looked in %s/nt5 and %s/kernels; set "
                     "NT5_CUDA_MODULE to its path)", MODULE_NAME, dir, dir);
    }
    if (!h) return;
    const int *api = dlsym(h, NT5_CUDA_MODULE_API_SYMBOL);
    if (!api)
        snprintf(load_error, sizeof load_error, "%s has no %s: not an nt5 CUDA module, or one older than this "
                 "libnt5", MODULE_NAME, NT5_CUDA_MODULE_API_SYMBOL);
    else if (*api != NT5_CUDA_MODULE_API)
        snprintf(load_error, sizeof load_error, "%s speaks module API %d, libnt5 %d: install matching versions",
                 MODULE_NAME, *api, NT5_CUDA_MODULE_API);
    else if (!(module_create = (cuda_module_create_fn)dlsym(h, NT5_CUDA_MODULE_ENTRY)))
        snprintf(load_error, sizeof load_error, "%s has no %s", MODULE_NAME, NT5_CUDA_MODULE_ENTRY);
    if (!module_create) dlclose(h);
}

static const cuda_host host = {err_set};

nt5_status cuda_backend_create(int device, int allow_tf32, backend **out) {
    pthread_once(&load_once, load_module);
    if (!module_create)
        return err_set(NT5_ERR_NO_DEVICE, "the CUDA backend could not be loaded: %s", load_error);
    return module_create(NT5_CUDA_MODULE_API, &host, device, allow_tf32, out);
}

int cuda_driver_present(void) { return access("/dev/nvidiactl", F_OK) == 0 || access("/proc/driver/nvidia/version", F_OK) == 0; }
