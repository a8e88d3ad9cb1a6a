/* Probe (2026-12-03, not part of the toolkit): the GRU cell forward loop of Sources/CKernels/gru.c,
 * copied to time it alone (variant 0) and with restrict row pointers (variant 1). Build and output: probes.txt. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include "rk_internal.h"
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
typedef float T;
__attribute__((noinline)) void gru_a(T *h, T *r, T *u, T *nn, T *q, const T *gi, const T *gh, const T *hprev, int N, int p) {
    for (int t=0;t<N;t++){
        const T *gir = gi + (long)t * 3 * p, *ghr = gh + (long)t * 3 * p;
        long o = (long)t * p;
        for (int i = 0; i < p; i++) {
            T rr = rk_sigmoidf(gir[i] + ghr[i]);
            T uu = rk_sigmoidf(gir[p + i] + ghr[p + i]);
            T qq = ghr[2 * p + i];
            T n = rk_tanhf(gir[2 * p + i] + rr * qq);
            T hp = hprev ? hprev[o + i] : 0;
            r[o + i] = rr; u[o + i] = uu; q[o + i] = qq; nn[o + i] = n;
            h[o + i] = ((T)1 - uu) * n + uu * hp;
        }
    }
}
static inline void row(T *restrict h, T *restrict r, T *restrict u, T *restrict nn, T *restrict q, const T *restrict gir, const T *restrict ghr, const T *restrict hp, int p) {
        for (int i = 0; i < p; i++) {
            T rr = rk_sigmoidf(gir[i] + ghr[i]);
            T uu = rk_sigmoidf(gir[p + i] + ghr[p + i]);
            T qq = ghr[2 * p + i];
            T n = rk_tanhf(gir[2 * p + i] + rr * qq);
            r[i] = rr; u[i] = uu; q[i] = qq; nn[i] = n;
            h[i] = ((T)1 - uu) * n + uu * hp[i];
        }
}
__attribute__((noinline)) void gru_b(T *h, T *r, T *u, T *nn, T *q, const T *gi, const T *gh, const T *hprev, int N, int p) {
    for (int t=0;t<N;t++){ long o=(long)t*p; row(h+o,r+o,u+o,nn+o,q+o,gi+o*3,gh+o*3,hprev+o,p);}
}
int main(){int N=2048,p=64; long n=(long)N*p;
 T *b=aligned_alloc(64, sizeof(T)*n*20); for(long i=0;i<n*20;i++) b[i]=((i*37)%101)*0.02f-1;
 T *h=b,*r=b+n,*u=b+2*n,*nn=b+3*n,*q=b+4*n,*gi=b+5*n,*gh=b+8*n,*hp=b+11*n;
 for(int v=0;v<2;v++){ double best=1e9; for(int rep=0;rep<50;rep++){ double t0=now(); if(v==0) gru_a(h,r,u,nn,q,gi,gh,hp,N,p); else gru_b(h,r,u,nn,q,gi,gh,hp,N,p); double t=now()-t0; if(t<best)best=t;}
 printf("variant %d: %.3f ms\n",v,best*1e3);}
 /* big buffer rotation (cold) */
 T *big=aligned_alloc(64,sizeof(T)*n*12*8);for(long i=0;i<n*12*8;i++) big[i]=((i*37)%101)*0.02f-1;
 for(int v=0;v<2;v++){ double tot=0; for(int rep=0;rep<40;rep++){ T *bb=big+(rep%8)*n*12; double t0=now(); if(v==0) gru_a(bb,bb+n,bb+2*n,bb+3*n,bb+4*n,bb+5*n,bb+8*n,bb+11*n,N,p); else gru_b(bb,bb+n,bb+2*n,bb+3*n,bb+4*n,bb+5*n,bb+8*n,bb+11*n,N,p); tot+=now()-t0;}
 printf("cold variant %d: %.3f ms\n",v,tot/40*1e3);}
}
