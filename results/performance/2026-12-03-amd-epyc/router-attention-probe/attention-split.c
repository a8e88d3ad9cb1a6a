/* Probe (2026-12-03, not part of the toolkit): the forward of Sources/CKernels/attention.c for one SMALL
 * layer on one thread, timed whole, products only and softmax only. Build and output: probes.txt. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "rk_internal.h"
typedef float T;
#define FN(x) x##_f32
#define EXP rk_expf
#define SIGMOID rk_sigmoidf
#define TANH rk_tanhf
#include "rk_rowops.h"
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static void g(int ta,int tb,int M,int N,int K,float al,const float*A,int lda,const float*B,int ldb,float be,float*C,int ldc){cblas_sgemm(CblasRowMajor,ta?CblasTrans:CblasNoTrans,tb?CblasTrans:CblasNoTrans,M,N,K,al,A,lda,B,ldb,be,C,ldc);}
int main(){ openblas_set_num_threads(1);
 int S=256,hd=64,d=256,ld=768,BLK=64; int ntask=32;
 float *qkv=malloc(sizeof(float)*8*S*ld); for(long i=0;i<8L*S*ld;i++) qkv[i]=((i*37)%101)*0.01f-0.5f;
 float *P=malloc(sizeof(float)*ntask*S*S), *out=malloc(sizeof(float)*8*S*d);
 for(int mode=0;mode<3;mode++){ double best=1e9;
 for(int rep=0;rep<20;rep++){ double t0=now();
 for(int task=0;task<ntask;task++){ int b=task/4,h=task%4;
  const float*q=qkv+(long)b*S*ld+h*hd,*k=q+d,*v=q+2*d; float*Pb=P+(long)task*S*S; float*o=out+(long)b*S*d+h*hd;
  for(int r0=0;r0<S;r0+=BLK){int r1=r0+BLK,br=BLK; float*Pr=Pb+(long)r0*S;
   if(mode!=2) g(0,1,br,r1,hd,0.125f,q+(long)r0*ld,ld,k,ld,0,Pr,S);
   if(mode!=1) for(int i=r0;i<r1;i++){float*row=Pb+(long)i*S; float mx=rk_row_max_f32(row,i+1); float s=rk_row_exp_sum_f32(row,i+1,mx); float inv=1/s; for(int j=0;j<=i;j++) row[j]*=inv; for(int j=i+1;j<r1;j++) row[j]=0;}
   if(mode!=2) g(0,0,br,hd,r1,1,Pr,S,v,ld,0,o+(long)r0*d,d);
  }}
 double t=now()-t0; if(t<best)best=t;}
 printf("mode %d (0=all 1=gemm only 2=softmax only): %.3f ms per layer, x8 layers = %.1f ms\n",mode,best*1e3,best*8e3);}
}
