#include "base/regular_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
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

nt5_status regular_file_map(const char *path, const uint8_t **map, size_t *size) {
    int fd;
    uint64_t len;
    nt5_status st = regular_file_open(path, &fd, &len);
    if (st != NT5_OK) return st;
    void *m = len ? mmap(NULL, (size_t)len, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
    int e = errno;
    close(fd);
    if (m == MAP_FAILED) return err_set(NT5_ERR_IO, "cannot map %s: %s", path, strerror(e));
    *map = m;
    *size = (size_t)len;
    return NT5_OK;
}
