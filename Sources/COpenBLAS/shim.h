#include <cblas.h>
/* Thread control of the pthread build of OpenBLAS (declared in cblas.h on Debian, repeated for other builds). */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
/* Build description ("OpenBLAS 0.3.21 DYNAMIC_ARCH ...") and the kernel chosen for this CPU, for provenance. */
char *openblas_get_config(void);
char *openblas_get_corename(void);
