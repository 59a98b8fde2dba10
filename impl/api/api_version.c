/* Public entry points: versions, statuses and the thread's last error. */
#include "base/error.h"
#include "base/version.h"

uint32_t nt5_abi_version(void) { return NT5_ABI_VERSION; }

const char *nt5_version(void) { return NT5_VERSION_STRING; }

const char *nt5_status_name(nt5_status status) {
    switch (status) {
    case NT5_OK: return "NT5_OK";
    case NT5_ERR_INVALID_ARG: return "NT5_ERR_INVALID_ARG";
    case NT5_ERR_IO: return "NT5_ERR_IO";
    case NT5_ERR_FORMAT: return "NT5_ERR_FORMAT";
    case NT5_ERR_UNSUPPORTED: return "NT5_ERR_UNSUPPORTED";
    case NT5_ERR_OUT_OF_MEMORY: return "NT5_ERR_OUT_OF_MEMORY";
    case NT5_ERR_BUFFER_TOO_SMALL: return "NT5_ERR_BUFFER_TOO_SMALL";
    case NT5_ERR_CANCELLED: return "NT5_ERR_CANCELLED";
    case NT5_ERR_TOO_LONG: return "NT5_ERR_TOO_LONG";
    case NT5_ERR_NO_DEVICE: return "NT5_ERR_NO_DEVICE";
    case NT5_ERR_DEVICE: return "NT5_ERR_DEVICE";
    case NT5_ERR_AUTH: return "NT5_ERR_AUTH";
    case NT5_ERR_NOT_FOUND: return "NT5_ERR_NOT_FOUND";
    case NT5_ERR_NETWORK: return "NT5_ERR_NETWORK";
    case NT5_ERR_INTERNAL: return "NT5_ERR_INTERNAL";
    default: return "NT5_ERR_UNKNOWN";
    }
}

const char *nt5_last_error(void) { return err_message(); }
