#include <zlib.h>

/* zlib's init macros pass the version and struct size; Swift cannot import macros. */
static inline int rk_inflate_init2(z_streamp s, int window_bits) { return inflateInit2(s, window_bits); }
