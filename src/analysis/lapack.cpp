#include "lapack.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstddef>
#include <stdexcept>

// Fortran BLAS/LAPACK symbols (LP64: 32-bit integers, as Debian builds them); the trailing
// lengths are the hidden character-argument lengths gfortran passes.
extern "C" {
void ssyrk_(const char* uplo, const char* trans, const int* n, const int* k, const float* alpha,
            const float* a, const int* lda, const float* beta, float* c, const int* ldc, std::size_t,
            std::size_t);
void sgemm_(const char* ta, const char* tb, const int* m, const int* n, const int* k, const float* alpha,
            const float* a, const int* lda, const float* b, const int* ldb, const float* beta, float* c,
            const int* ldc, std::size_t, std::size_t);
void dgemm_(const char* ta, const char* tb, const int* m, const int* n, const int* k, const double* alpha,
            const double* a, const int* lda, const double* b, const int* ldb, const double* beta, double* c,
            const int* ldc, std::size_t, std::size_t);
void dsyrk_(const char* uplo, const char* trans, const int* n, const int* k, const double* alpha,
            const double* a, const int* lda, const double* beta, double* c, const int* ldc, std::size_t,
            std::size_t);
void ssyevd_(const char* jobz, const char* uplo, const int* n, float* a, const int* lda, float* w,
             float* work, const int* lwork, int* iwork, const int* liwork, int* info, std::size_t,
             std::size_t);
void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w,
             double* work, const int* lwork, int* iwork, const int* liwork, int* info, std::size_t,
             std::size_t);
void dgesdd_(const char* jobz, const int* m, const int* n, double* a, const int* lda, double* s, double* u,
             const int* ldu, double* vt, const int* ldvt, double* work, const int* lwork, int* iwork,
             int* info, std::size_t);
void sgeqrf_(const int* m, const int* n, float* a, const int* lda, float* tau, float* work, const int* lwork,
             int* info);
void sorgqr_(const int* m, const int* n, const int* k, float* a, const int* lda, const float* tau,
             float* work, const int* lwork, int* info);
}

namespace sonify::analysis {
namespace {

using SetThreads = void (*)(int);
using GetThreads = int (*)();
using GetConfig = char* (*)();

int to_int(std::int64_t v) {
  if (v < 0 || v > 0x7fffffff) throw std::length_error("matrix too large for a 32-bit LAPACK");
  return static_cast<int>(v);
}

void check(int info, const char* routine) {
  // info > 0 is a convergence failure, which LAPACK's symmetric and bidiagonal solvers
  // do not reach on finite input; the analysis refuses non-finite tensors before.
  if (info != 0) throw std::runtime_error(std::string(routine) + " failed, info " + std::to_string(info));
}

}  // namespace

BlasSingleThread::BlasSingleThread() {
  auto get = reinterpret_cast<GetThreads>(::dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  auto set = reinterpret_cast<SetThreads>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (get != nullptr && set != nullptr) {
    previous_ = get();
    set(1);
  }
}

BlasSingleThread::~BlasSingleThread() {
  auto set = reinterpret_cast<SetThreads>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (set != nullptr && previous_ > 0) set(previous_);
}

std::string blas_name() {
  auto config = reinterpret_cast<GetConfig>(::dlsym(RTLD_DEFAULT, "openblas_get_config"));
  return config != nullptr ? std::string("OpenBLAS ") + config() : std::string("reference or unknown BLAS");
}

void ssyrk_lower(bool trans, std::int64_t n, std::int64_t k, const float* a, std::int64_t lda, float* c) {
  const int N = to_int(n), K = to_int(k), LDA = to_int(std::max<std::int64_t>(lda, 1));
  const int LDC = std::max(N, 1);
  const float one = 1, zero = 0;
  ssyrk_("L", trans ? "T" : "N", &N, &K, &one, a, &LDA, &zero, c, &LDC, 1, 1);
}

void dsyrk_lower(bool trans, std::int64_t n, std::int64_t k, const double* a, std::int64_t lda, double* c) {
  const int N = to_int(n), K = to_int(k), LDA = to_int(std::max<std::int64_t>(lda, 1));
  const int LDC = std::max(N, 1);
  const double one = 1, zero = 0;
  dsyrk_("L", trans ? "T" : "N", &N, &K, &one, a, &LDA, &zero, c, &LDC, 1, 1);
}

void sgemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, const float* a,
           std::int64_t lda, const float* b, std::int64_t ldb, float* c, std::int64_t ldc, float beta) {
  const int M = to_int(m), N = to_int(n), K = to_int(k);
  const int LDA = to_int(std::max<std::int64_t>(lda, 1)), LDB = to_int(std::max<std::int64_t>(ldb, 1));
  const int LDC = to_int(std::max<std::int64_t>(ldc, 1));
  const float one = 1;
  sgemm_(trans_a ? "T" : "N", trans_b ? "T" : "N", &M, &N, &K, &one, a, &LDA, b, &LDB, &beta, c, &LDC, 1, 1);
}

void dgemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, double alpha,
           const double* a, std::int64_t lda, const double* b, std::int64_t ldb, double beta, double* c,
           std::int64_t ldc) {
  if (m == 0 || n == 0) return;
  const int M = to_int(m), N = to_int(n), K = to_int(k);
  const int LDA = to_int(std::max<std::int64_t>(lda, 1)), LDB = to_int(std::max<std::int64_t>(ldb, 1));
  const int LDC = to_int(std::max<std::int64_t>(ldc, 1));
  dgemm_(trans_a ? "T" : "N", trans_b ? "T" : "N", &M, &N, &K, &alpha, a, &LDA, b, &LDB, &beta, c, &LDC, 1,
         1);
}

std::vector<double> symmetric_eigenvalues(double* a, std::int64_t n, bool vectors) {
  if (n == 0) return {};
  const int N = to_int(n);
  const char* jobz = vectors ? "V" : "N";
  std::vector<double> w(static_cast<std::size_t>(n));
  int lwork = -1, liwork = -1, info = 0, iwork_size = 0;
  double work_size = 0;
  dsyevd_(jobz, "L", &N, a, &N, w.data(), &work_size, &lwork, &iwork_size, &liwork, &info, 1, 1);
  check(info, "dsyevd");
  lwork = static_cast<int>(work_size) + 1;
  liwork = std::max(iwork_size, 1);
  std::vector<double> work(static_cast<std::size_t>(lwork));
  std::vector<int> iwork(static_cast<std::size_t>(liwork));
  dsyevd_(jobz, "L", &N, a, &N, w.data(), work.data(), &lwork, iwork.data(), &liwork, &info, 1, 1);
  check(info, "dsyevd");
  return w;
}

std::vector<double> symmetric_eigenvalues(float* a, std::int64_t n) {
  if (n == 0) return {};
  const int N = to_int(n);
  std::vector<float> w(static_cast<std::size_t>(n));
  int lwork = -1, liwork = -1, info = 0, iwork_size = 0;
  float work_size = 0;
  ssyevd_("N", "L", &N, a, &N, w.data(), &work_size, &lwork, &iwork_size, &liwork, &info, 1, 1);
  check(info, "ssyevd");
  lwork = static_cast<int>(work_size) + 1;
  liwork = std::max(iwork_size, 1);
  std::vector<float> work(static_cast<std::size_t>(lwork));
  std::vector<int> iwork(static_cast<std::size_t>(liwork));
  ssyevd_("N", "L", &N, a, &N, w.data(), work.data(), &lwork, iwork.data(), &liwork, &info, 1, 1);
  check(info, "ssyevd");
  return std::vector<double>(w.begin(), w.end());
}

std::vector<double> singular_values_gesdd(double* a, std::int64_t m, std::int64_t n) {
  if (m == 0 || n == 0) return {};
  const int M = to_int(m), N = to_int(n), one = 1;
  std::vector<double> s(static_cast<std::size_t>(std::min(m, n)));
  std::vector<int> iwork(static_cast<std::size_t>(8 * std::min(m, n)));
  int lwork = -1, info = 0;
  double work_size = 0, dummy = 0;
  dgesdd_("N", &M, &N, a, &M, s.data(), &dummy, &one, &dummy, &one, &work_size, &lwork, iwork.data(), &info,
          1);
  check(info, "dgesdd");
  lwork = static_cast<int>(work_size) + 1;
  std::vector<double> work(static_cast<std::size_t>(lwork));
  dgesdd_("N", &M, &N, a, &M, s.data(), &dummy, &one, &dummy, &one, work.data(), &lwork, iwork.data(), &info,
          1);
  check(info, "dgesdd");
  return s;
}

void orthonormalise(float* a, std::int64_t m, std::int64_t n) {
  if (n == 0) return;
  const int M = to_int(m), N = to_int(n);
  std::vector<float> tau(static_cast<std::size_t>(n));
  int lwork = -1, info = 0;
  float work_size = 0;
  sgeqrf_(&M, &N, a, &M, tau.data(), &work_size, &lwork, &info);
  check(info, "sgeqrf");
  lwork = std::max(static_cast<int>(work_size), N) + 1;
  std::vector<float> work(static_cast<std::size_t>(lwork));
  sgeqrf_(&M, &N, a, &M, tau.data(), work.data(), &lwork, &info);
  check(info, "sgeqrf");
  sorgqr_(&M, &N, &N, a, &M, tau.data(), work.data(), &lwork, &info);
  check(info, "sorgqr");
}

}  // namespace sonify::analysis
