/* Instantiate the including template for float. */
#define T float
#define SFX f32
#define EXP rk_expf
#define LOG logf
#define SQRT sqrtf
#define SIGMOID rk_sigmoidf
#define GEMM cblas_sgemm
#define TANH rk_tanhf
