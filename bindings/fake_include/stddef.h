/* Just enough of <stddef.h> for pycparser to read abi/nt5.h. */
typedef unsigned long size_t;
#define NULL 0
