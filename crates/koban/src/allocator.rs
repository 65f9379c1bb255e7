//! How the process's allocator (mimalloc, set in `main.rs`) gives memory
//! back to the system.

use std::ffi::{c_int, c_long};
// Links mimalloc's C library, whose option table this reads and sets,
// into the library's own test binary too.
use mimalloc as _;

extern "C" {
    fn mi_option_set(option: c_int, value: c_long);
    #[cfg(test)]
    fn mi_option_get(option: c_int) -> c_long;
}

/// `mi_option_purge_delay` in the `mi_option_e` enum of `mimalloc.h`, the
/// same in the v2 and v3 sources libmimalloc-sys carries.
const PURGE_DELAY: c_int = 15;

/// mimalloc hands memory a thread freed back to the system only when that
/// thread allocates again after the purge delay (a second by default).
/// The search index's writer and merge threads free tens of MiB and then
/// sleep, so their memory stayed resident: while the index took in
/// 200,000 tickets loaded straight into the database, the server held
/// 155–165 MiB, against 85–110 MiB with the purge at once, and no cost to
/// the ticket rate could be told from the machine's noise
/// (docs/benchmarks-history.md, desk run 11). Password hashing keeps its
/// Argon2 blocks, so it does not fault them in again.
/// `MIMALLOC_PURGE_DELAY` in the environment still decides, when it is set.
pub fn purge_freed_memory_at_once() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets one integer in mimalloc's option table.
        unsafe { mi_option_set(PURGE_DELAY, 0) };
    }
}

#[cfg(test)]
mod tests {
    use super::{mi_option_get, PURGE_DELAY};

    #[test]
    fn the_purge_delay_is_the_option_it_is_taken_for() {
        // Only purge_delay defaults to 1,000 (ms) among its neighbours:
        // eager_commit_delay (1) before it and use_numa_nodes (0) after.
        // SAFETY: reads mimalloc's option table.
        let around = unsafe {
            [
                mi_option_get(PURGE_DELAY - 1),
                mi_option_get(PURGE_DELAY),
                mi_option_get(PURGE_DELAY + 1),
            ]
        };
        assert_eq!(around, [1, 1000, 0]);
    }
}
