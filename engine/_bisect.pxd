# cython: language_level=3
"""bisect_right over a C array of sorted starts, shared by the Cython modules (inline, no module)."""

cdef inline Py_ssize_t bisect_right(const long long* a, Py_ssize_t lo, Py_ssize_t hi,
                                    long long x) noexcept nogil:
    """The first index in [lo, hi) whose value is greater than x (hi if none)."""
    cdef Py_ssize_t mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] <= x:
            lo = mid + 1
        else:
            hi = mid
    return lo
