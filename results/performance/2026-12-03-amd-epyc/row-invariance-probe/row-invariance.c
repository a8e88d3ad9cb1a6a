#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
void test(int M,int N,int K,int ta,int tb,int rb){
  float *A=malloc(4*M*K),*B=malloc(4*N*K),*C1=malloc(4*M*N),*C2=malloc(4*M*N);
  srand(1); for(int i=0;i<M*K;i++)A[i]=rand()/(float)RAND_MAX-0.5f; for(int i=0;i<N*K;i++)B[i]=rand()/(float)RAND_MAX-0.5f;
  int lda = ta? M:K, ldb = tb? K:N;
  cblas_sgemm(CblasRowMajor,ta?CblasTrans:CblasNoTrans,tb?CblasTrans:CblasNoTrans,M,N,K,1,A,lda,B,ldb,0,C1,N);
  for(int r=0;r<M;r+=rb){ const float*At= ta? A+r : A+(long)r*lda;
    cblas_sgemm(CblasRowMajor,ta?CblasTrans:CblasNoTrans,tb?CblasTrans:CblasNoTrans,rb,N,K,1,At,lda,B,ldb,0,C2+(long)r*N,N);}
  int diff=0; for(int i=0;i<M*N;i++) if(memcmp(&C1[i],&C2[i],4)) diff++;
  printf("M=%d N=%d K=%d ta=%d tb=%d rb=%d diff=%d\n",M,N,K,ta,tb,rb,diff);
}
int main(){ openblas_set_num_threads(1);
 test(512,8,32,0,1,64); test(512,32,64,0,1,64); test(512,96,32,0,1,64); test(512,32,8,0,0,64); test(512,32,96,0,0,64);test(512,64,32,0,0,64);
 test(2048,16,64,0,1,256); test(2048,64,256,0,1,256); test(2048,192,64,0,1,256);test(2048,64,16,0,0,256);test(2048,64,192,0,0,256);test(2048,256,64,0,0,256);}
