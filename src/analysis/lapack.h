// The BLAS/LAPACK routines the analysis uses (the system's liblapack.so.3 and libblas.so.3:
// OpenBLAS on Debian when libopenblas0-pthread is installed), behind plain C++ types.
// Every call here runs on one BLAS thread (see BlasSingleThread): the analysis parallelises
// across tensors and fixed Gram slices itself, so its results never depend on how many
// threads the BLAS would have split a product over.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sonify::analysis {

// While alive, the BLAS runs single-threaded (OpenBLAS's openblas_set_num_threads, found at
// run time so any BLAS links); the previous count is restored afterwards.
class BlasSingleThread {
 public:
  BlasSingleThread();
  ~BlasSingleThread();
  BlasSingleThread(const BlasSingleThread&) = delete;
  BlasSingleThread& operator=(const BlasSingleThread&) = delete;

 private:
  int previous_ = 0;
};

// The BLAS in use: OpenBLAS's configuration string, or "reference or unknown BLAS".
std::string blas_name();

// C (n×n, column-major, lower triangle) = A·Aᵀ (trans false, A n×k with leading dimension
// lda) or Aᵀ·A (trans true, A k×n), single precision.
void ssyrk_lower(bool trans, std::int64_t n, std::int64_t k, const float* a, std::int64_t lda, float* c);

// The same in double precision.
void dsyrk_lower(bool trans, std::int64_t n, std::int64_t k, const double* a, std::int64_t lda, double* c);

// C (m×n) = op(A)·op(B) + beta·C, column-major, single precision.
void sgemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, const float* a,
           std::int64_t lda, const float* b, std::int64_t ldb, float* c, std::int64_t ldc, float beta = 0);

// C (m×n) = alpha·op(A)·op(B) + beta·C, column-major, double precision.
void dgemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, double alpha,
           const double* a, std::int64_t lda, const double* b, std::int64_t ldb, double beta, double* c,
           std::int64_t ldc);

// Eigenvalues, ascending, of the symmetric n×n column-major matrix whose lower triangle is
// `a` (dsyevd). With `vectors`, `a` is overwritten by the eigenvectors (columns).
std::vector<double> symmetric_eigenvalues(double* a, std::int64_t n, bool vectors = false);

// The same, eigenvalues only, in single precision (ssyevd); `a` is destroyed.
std::vector<double> symmetric_eigenvalues(float* a, std::int64_t n);

// Singular values, descending, of the m×n column-major matrix `a` (dgesdd, no vectors);
// `a` is destroyed.
std::vector<double> singular_values_gesdd(double* a, std::int64_t m, std::int64_t n);

// Replaces the m×n (m ≥ n) column-major `a` by an orthonormal basis of its columns
// (sgeqrf + sorgqr).
void orthonormalise(float* a, std::int64_t m, std::int64_t n);

}  // namespace sonify::analysis
