/* The release as text ("0.3.0"), from abi/nt5.h's version macros: what
 * nt5_version() returns and what files nt5 writes record. */
#ifndef NT5_IMPL_VERSION_H
#define NT5_IMPL_VERSION_H

#include "nt5.h"

#define NT5_VERSION_TEXT_(x) #x
#define NT5_VERSION_TEXT(x) NT5_VERSION_TEXT_(x)
#define NT5_VERSION_STRING                                                                                             \
    NT5_VERSION_TEXT(NT5_VERSION_MAJOR) "." NT5_VERSION_TEXT(NT5_VERSION_MINOR) "." NT5_VERSION_TEXT(NT5_VERSION_PATCH)

#endif
