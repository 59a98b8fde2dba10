/* Just enough of <stdint.h> for pycparser to read abi/nt5.h; the generator
 * maps these names to each language's fixed-width types. */
typedef signed char int8_t;
typedef unsigned char uint8_t;
typedef short int16_t;
typedef unsigned short uint16_t;
typedef int int32_t;
typedef unsigned int uint32_t;
typedef long long int64_t;
typedef unsigned long long uint64_t;
