/* Probe (2026-12-03, not part of the toolkit): one-thread OpenBLAS sgemm at the recurrent router's SMALL
 * shapes, one call and 256-row tiles (as rk_gemm cuts them). Build and output: probes.txt. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
float *A,*B,*C;
void run(const char*name,int ta,int tb,int M,int N,int K,int tile){
  int lda= ta? M: K, ldb = tb? K: N;
  double best=1e9;
  for(int rep=0;rep<30;rep++){
    double t0=now();
    if(tile && M>=128){ for(int r0=0;r0<M;r0+=tile){int m=r0+tile<M?tile:M-r0;
        cblas_sgemm(CblasRowMajor,ta?CblasTrans:CblasNoTrans,tb?CblasTrans:CblasNoTrans,m,N,K,1,ta?A+r0:A+(long)r0*lda,lda,B,ldb,1,C+(long)r0*N,N);} }
    else cblas_sgemm(CblasRowMajor,ta?CblasTrans:CblasNoTrans,tb?CblasTrans:CblasNoTrans,M,N,K,1,A,lda,B,ldb,1,C,N);
    double t=now()-t0; if(t<best)best=t;}
  printf("%-10s ta%d tb%d M%5d N%4d K%5d tile%4d: %7.1f us %6.1f GFLOP/s\n",name,ta,tb,M,N,K,tile,best*1e6,2.0*M*N*K/best*1e-9);
}
int main(){ openblas_set_num_threads(1);
 A=malloc(4<<22);B=malloc(4<<22);C=malloc(4<<22); for(int i=0;i<(1<<22);i++){A[i]=(i%7)*0.1f;B[i]=(i%5)*0.1f;C[i]=0;}
 int T=2048,d=256,p=64,g=192,E=16;
 for(int tile=0;tile<=256;tile+=256){
 run("proj",0,1,T,p,d,tile); run("gi",0,1,T,g,p,tile); run("out",0,1,T,E,p,tile);
 run("dh",0,0,T,p,E,tile); run("dx'",0,0,T,p,g,tile); run("dxproj",0,0,T,d,p,tile);}
 run("dWih",1,0,g,p,T,0); run("dP",1,0,p,d,T,0); run("dG",1,0,E,p,T,0);
 run("ffn w1",0,1,T,128,256,0); run("qkv",0,1,T,768,256,0); run("qkv",0,1,T,768,256,256);
}
