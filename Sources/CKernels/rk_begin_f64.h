/* Instantiate the including template for double. */
#define T double
#define SFX f64
#define EXP exp
#define LOG log
#define SQRT sqrt
#define SIGMOID rk_sigmoidd
#define GEMM cblas_dgemm
#define TANH tanh
