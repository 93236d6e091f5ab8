/*
 * Kaneko's 1999 ED sample program's training loop, re-implemented in C from ED_SPEC.md section 4 and
 * scripts/kaneko-reference.py (whose numerics reproduce Kaneko's recorded run exactly): one
 * independent network per output, one hidden layer with alternating I/E cells, two bias cells of
 * value beta, float64, online updates with the unidirectional rule, sources summed in order.
 * It is the C baseline of `npm run bench:train` for Kaneko's setting.
 *
 * usage: kaneko-reference DATA.bin PATTERNS INPUTS OUTPUTS HIDDEN EPOCHS
 *   DATA.bin: PATTERNS x INPUTS float32 inputs, then PATTERNS x OUTPUTS float32 targets.
 * prints one line: seconds per epoch for each epoch, space-separated.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: %s DATA.bin PATTERNS INPUTS OUTPUTS HIDDEN EPOCHS\n", argv[0]);
    return 2;
  }
  const int np = atoi(argv[2]), ni = atoi(argv[3]), no = atoi(argv[4]), nh = atoi(argv[5]), epochs = atoi(argv[6]);
  const double alpha = 0.8, beta = 0.8, u0 = 0.4, u1 = 1.0;
  FILE *f = fopen(argv[1], "rb");
  if (!f) { perror(argv[1]); return 2; }
  float *raw = malloc(sizeof(float) * (size_t)np * (ni + no));
  if (fread(raw, sizeof(float), (size_t)np * (ni + no), f) != (size_t)np * (ni + no)) { fprintf(stderr, "short read\n"); return 2; }
  fclose(f);
  const int ns = 2 + 2 * ni, nos = 2 + nh;
  int *srcT = malloc(sizeof(int) * ns), *outT = malloc(sizeof(int) * nos), *hT = malloc(sizeof(int) * nh);
  for (int j = 0; j < nh; j++) hT[j] = j % 2 == 0 ? -1 : 1;
  for (int i = 0; i < ns; i++) srcT[i] = i % 2 == 0 ? 1 : -1;
  outT[0] = 1; outT[1] = -1;
  for (int j = 0; j < nh; j++) outT[2 + j] = hT[j];
  double *wh = malloc(sizeof(double) * (size_t)no * nh * ns), *wo = malloc(sizeof(double) * (size_t)no * nos);
  srand(1);
  for (int n = 0; n < no; n++) {
    for (int j = 0; j < nh; j++)
      for (int i = 0; i < ns; i++) wh[((size_t)n * nh + j) * ns + i] = (rand() / (RAND_MAX + 1.0)) * srcT[i] * hT[j];
    for (int i = 0; i < nos; i++) wo[(size_t)n * nos + i] = (rand() / (RAND_MAX + 1.0)) * outT[i];
  }
  double *src = malloc(sizeof(double) * ns), *osrc = malloc(sizeof(double) * nos), *ho = malloc(sizeof(double) * nh);
  for (int ep = 0; ep < epochs; ep++) {
    const double t0 = now();
    double errSum = 0;
    for (int p = 0; p < np; p++) {
      src[0] = beta; src[1] = beta;
      for (int i = 0; i < ni; i++) src[2 + 2 * i] = src[3 + 2 * i] = raw[(size_t)p * ni + i];
      for (int n = 0; n < no; n++) {
        double *w = wh + (size_t)n * nh * ns, *v = wo + (size_t)n * nos;
        for (int j = 0; j < nh; j++) {
          double s = 0;
          for (int i = 0; i < ns; i++) s += w[(size_t)j * ns + i] * src[i];
          ho[j] = 1 / (1 + exp(-2 * s / u0));
        }
        osrc[0] = beta; osrc[1] = beta;
        for (int j = 0; j < nh; j++) osrc[2 + j] = ho[j];
        double s = 0;
        for (int i = 0; i < nos; i++) s += v[i] * osrc[i];
        const double o = 1 / (1 + exp(-2 * s / u0));
        const double e = raw[(size_t)np * ni + (size_t)p * no + n] - o;
        errSum += fabs(e);
        const double dp = e > 0 ? e : 0, dm = e < 0 ? -e : 0, hp = dp * u1, hm = dm * u1;
        for (int i = 0; i < nos; i++) {
          if (v[i] != 0) {
            double d = alpha * osrc[i]; d *= o; d *= (1 - o);
            v[i] += d * (outT[i] > 0 ? dp : dm) * outT[i];
          }
        }
        for (int j = 0; j < nh; j++) {
          double *wj = w + (size_t)j * ns;
          for (int i = 0; i < ns; i++) {
            if (wj[i] != 0) {
              double d = alpha * src[i]; d *= ho[j]; d *= (1 - ho[j]);
              wj[i] += d * (srcT[i] > 0 ? hp : hm) * srcT[i] * hT[j];
            }
          }
        }
      }
    }
    printf("%s%.6f", ep ? " " : "", now() - t0);
    fflush(stdout);
    if (errSum < 0) return 1; /* keeps errSum live */
  }
  printf("\n");
  return 0;
}
