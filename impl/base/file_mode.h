/* Permissions for files made under a temporary name (mkstemp, mkdtemp:
 * 0600/0700) before they are renamed into place: what open() or mkdir()
 * would have given them under the process's umask. */
#ifndef NT5_IMPL_FILE_MODE_H
#define NT5_IMPL_FILE_MODE_H

#include <sys/types.h>

/* base & ~umask; the umask is read from /proc/self/status (umask() would
 * change it for every thread), 022 when that cannot be read. */
mode_t file_mode_for(mode_t base);

#endif
