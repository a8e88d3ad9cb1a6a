#undef T
#undef SFX
#undef EXP
#undef LOG
#undef SQRT
#undef SIGMOID
#undef GEMM
#undef TANH
