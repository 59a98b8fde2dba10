#include "base/regular_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"

static const char *kind_of(mode_t mode) {
    return S_ISDIR(mode)    ? "a directory"
           : S_ISFIFO(mode) ? "a FIFO"
           : S_ISSOCK(mode) ? "a socket"
           : S_ISCHR(mode)  ? "a character device"
           : S_ISBLK(mode)  ? "a block device"
                            : "not a regular file";
}

nt5_status regular_file_open(const char *path, int *fd, uint64_t *size) {
    /* non-blocking: opening a FIFO with no writer returns at once instead of waiting for one */
    int f = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (f < 0)
        return err_set(errno == ENOENT ? NT5_ERR_NOT_FOUND : NT5_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(f, &sb) != 0) {
        int e = errno;
        close(f);
        return err_set(NT5_ERR_IO, "cannot read %s: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(f);
        return err_set(NT5_ERR_IO, "%s is %s, not a file nt5 can read", path, kind_of(sb.st_mode));
    }
    int flags = fcntl(f, F_GETFL);
    if (flags < 0 || fcntl(f, F_SETFL, flags & ~O_NONBLOCK) != 0) {
        int e = errno;
        close(f);
        return err_set(NT5_ERR_IO, "cannot read %s: %s", path, strerror(e));
    }
    *fd = f;
    *size = (uint64_t)sb.st_size;
    return NT5_OK;
}
