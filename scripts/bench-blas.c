/*
 * One-thread sgemm from a system BLAS (Debian's OpenBLAS or BLIS, through CBLAS) on the products
 * edsim's kernels compute: the forward pass Y = X W (B x nIn times nIn x nOut) and the update
 * W += s X^T G. Part of `npm run bench:blas`, which compares them with edsim's kernels in one run.
 *
 * usage: bench-blas B IN OUT REPS   prints: forward_gflops update_gflops (medians)
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median_rate(int which, int B, int nIn, int nOut, int reps, float *X, float *W, float *Y, float *G) {
  double *r = malloc(sizeof(double) * reps);
  const double flops = 2.0 * B * nIn * nOut;
  for (int k = -1; k < reps; k++) {
    int inner = 0;
    const double t0 = now();
    do {
      if (which == 0) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, nOut, nIn, 1.0f, X, nIn, W, nOut, 0.0f, Y, nOut);
      else cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nIn, nOut, B, 1e-9f, X, nIn, G, nOut, 1.0f, W, nOut);
      inner++;
    } while (now() - t0 < 0.02);
    if (k >= 0) r[k] = flops * inner / (now() - t0) / 1e9;
  }
  qsort(r, reps, sizeof(double), cmp);
  const double m = r[reps / 2];
  free(r);
  return m;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s B IN OUT REPS\n", argv[0]);
    return 2;
  }
  const int B = atoi(argv[1]), nIn = atoi(argv[2]), nOut = atoi(argv[3]), reps = atoi(argv[4]);
  float *X = malloc(sizeof(float) * B * nIn), *W = malloc(sizeof(float) * nIn * nOut);
  float *Y = malloc(sizeof(float) * B * nOut), *G = malloc(sizeof(float) * B * nOut);
  for (int i = 0; i < B * nIn; i++) X[i] = (float)rand() / RAND_MAX - 0.5f;
  for (int i = 0; i < nIn * nOut; i++) W[i] = (float)rand() / RAND_MAX - 0.5f;
  for (int i = 0; i < B * nOut; i++) G[i] = (float)rand() / RAND_MAX - 0.5f;
  printf("%.2f %.2f\n", median_rate(0, B, nIn, nOut, reps, X, W, Y, G), median_rate(1, B, nIn, nOut, reps, X, W, Y, G));
  return 0;
}
