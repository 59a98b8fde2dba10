/* Thread-local error message behind nt5_last_error(). */
#ifndef NT5_IMPL_ERROR_H
#define NT5_IMPL_ERROR_H

#include "nt5.h"

/* Stores the formatted message for this thread and returns `status`. */
nt5_status err_set(nt5_status status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefixes the current message with context ("loading x: <old message>"). */
nt5_status err_wrap(nt5_status status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void err_clear(void);
const char *err_message(void);

#endif
