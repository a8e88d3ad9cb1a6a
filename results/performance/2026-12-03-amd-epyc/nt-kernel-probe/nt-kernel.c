#include <cblas.h>
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
/* C[M,N] = A[M,K] * Bt[K,N] (Bt = B^T, row-major), N % 16 == 0, M % 6 handled by smaller tiles */
static inline void tile(int mr, int K, const float *A, int lda, const float *Bt, int ldb, float *C, int ldc){
  __m256 c[6][2];
  for(int i=0;i<6;i++){c[i][0]=_mm256_setzero_ps();c[i][1]=_mm256_setzero_ps();}
  for(int k=0;k<K;k++){
    __m256 b0=_mm256_loadu_ps(Bt+(long)k*ldb), b1=_mm256_loadu_ps(Bt+(long)k*ldb+8);
    for(int i=0;i<6;i++){ if(i<mr){ __m256 a=_mm256_broadcast_ss(A+(long)i*lda+k); c[i][0]=_mm256_fmadd_ps(a,b0,c[i][0]); c[i][1]=_mm256_fmadd_ps(a,b1,c[i][1]);} }
  }
  for(int i=0;i<mr;i++){_mm256_storeu_ps(C+(long)i*ldc,c[i][0]);_mm256_storeu_ps(C+(long)i*ldc+8,c[i][1]);}
}
static inline void tile6(int K, const float *A, int lda, const float *Bt, int ldb, float *C, int ldc){
  __m256 c00=_mm256_setzero_ps(),c01=c00,c10=c00,c11=c00,c20=c00,c21=c00,c30=c00,c31=c00,c40=c00,c41=c00,c50=c00,c51=c00;
  const float *a0=A,*a1=A+lda,*a2=A+2*lda,*a3=A+3*lda,*a4=A+4*lda,*a5=A+5*lda;
  for(int k=0;k<K;k++){
    __m256 b0=_mm256_loadu_ps(Bt+(long)k*ldb), b1=_mm256_loadu_ps(Bt+(long)k*ldb+8), a;
    a=_mm256_broadcast_ss(a0+k); c00=_mm256_fmadd_ps(a,b0,c00); c01=_mm256_fmadd_ps(a,b1,c01);
    a=_mm256_broadcast_ss(a1+k); c10=_mm256_fmadd_ps(a,b0,c10); c11=_mm256_fmadd_ps(a,b1,c11);
    a=_mm256_broadcast_ss(a2+k); c20=_mm256_fmadd_ps(a,b0,c20); c21=_mm256_fmadd_ps(a,b1,c21);
    a=_mm256_broadcast_ss(a3+k); c30=_mm256_fmadd_ps(a,b0,c30); c31=_mm256_fmadd_ps(a,b1,c31);
    a=_mm256_broadcast_ss(a4+k); c40=_mm256_fmadd_ps(a,b0,c40); c41=_mm256_fmadd_ps(a,b1,c41);
    a=_mm256_broadcast_ss(a5+k); c50=_mm256_fmadd_ps(a,b0,c50); c51=_mm256_fmadd_ps(a,b1,c51);
  }
  _mm256_storeu_ps(C,c00);_mm256_storeu_ps(C+8,c01);_mm256_storeu_ps(C+ldc,c10);_mm256_storeu_ps(C+ldc+8,c11);
  _mm256_storeu_ps(C+2*ldc,c20);_mm256_storeu_ps(C+2*ldc+8,c21);_mm256_storeu_ps(C+3*ldc,c30);_mm256_storeu_ps(C+3*ldc+8,c31);
  _mm256_storeu_ps(C+4*ldc,c40);_mm256_storeu_ps(C+4*ldc+8,c41);_mm256_storeu_ps(C+5*ldc,c50);_mm256_storeu_ps(C+5*ldc+8,c51);
}
static void mygemm(int M,int N,int K,const float*A,const float*Bt,float*C){
  for(int j=0;j<N;j+=16) { int i=0; for(;i+6<=M;i+=6) tile6(K,A+(long)i*K,K,Bt+j,N,C+(long)i*N+j,N);
    if(i<M) tile(M-i,K,A+(long)i*K,K,Bt+j,N,C+(long)i*N+j,N);} }
static void transpose(const float*B,float*Bt,int N,int K){for(int n=0;n<N;n++)for(int k=0;k<K;k++)Bt[(long)k*N+n]=B[(long)n*K+k];}
void bench(int M,int N,int K){
  float *A=malloc(4L*M*K),*B=malloc(4L*N*K),*Bt=malloc(4L*N*K),*C1=malloc(4L*M*N),*C2=malloc(4L*M*N);
  for(long i=0;i<(long)M*K;i++)A[i]=rand()/(float)RAND_MAX-.5f; for(long i=0;i<(long)N*K;i++)B[i]=rand()/(float)RAND_MAX-.5f;
  int reps=200000000/(2*M*N*K)+10; double t0,t1,t2,t3;
  cblas_sgemm(CblasRowMajor,CblasNoTrans,CblasTrans,M,N,K,1,A,K,B,K,0,C1,N);
  t0=now(); for(int r=0;r<reps;r++) cblas_sgemm(CblasRowMajor,CblasNoTrans,CblasTrans,M,N,K,1,A,K,B,K,0,C1,N); t1=now();
  transpose(B,Bt,N,K); mygemm(M,N,K,A,Bt,C2);
  t2=now(); for(int r=0;r<reps;r++) mygemm(M,N,K,A,Bt,C2); t3=now();
  double t4=now(); for(int r=0;r<reps;r++){transpose(B,Bt,N,K); mygemm(M,N,K,A,Bt,C2);} double t5=now();
  double md=0; for(long i=0;i<(long)M*N;i++){double d=C1[i]-C2[i]; if(d<0)d=-d; if(d>md)md=d;}
  double f=2.0*M*N*K*reps/1e9;
  printf("%4d x %4d x %4d  openblas %6.1f  mine %6.1f  mine+transpose %6.1f GFLOP/s  maxdiff %.1e\n",M,N,K,f/(t1-t0),f/(t3-t2),f/(t5-t4),md);
}
int main(){openblas_set_num_threads(1);
 bench(64,192,64); bench(64,64,64); bench(128,64,64); bench(128,128,64); bench(512,192,64); bench(512,256,64);
 bench(256,128,256); bench(256,768,256); bench(256,256,128);}
