//! A small global allocator for `no_std` spirits that use `alloc`
//! (the `allocator` feature).
//!
//! A spirit runs once and its memory is thrown away when the run ends, so
//! a bump allocator is enough: each allocation takes the next free bytes,
//! growing the WebAssembly memory a page (64 KiB) at a time; freeing or
//! growing the most recent allocation happens in place, anything else is
//! reclaimed when the run ends. It is a few hundred bytes of code, where a
//! general-purpose allocator such as `dlmalloc` is several kilobytes.
//!
//! Enable it in the spirit's `Cargo.toml`; the SDK installs it as the
//! `#[global_allocator]` on wasm32 (on other targets, and with the `std`
//! feature, `std`'s allocator stays):
//!
//! ```toml
//! spirit-sdk = { version = "0.1", features = ["allocator"] }
//! ```
//!
//! A spirit that builds long-lived, churning data structures should bring a
//! general-purpose allocator instead (and leave this feature off).

/// Where the next allocation goes within the region obtained so far.
///
/// Addresses are plain numbers here so that the arithmetic can be tested on
/// any target; only [`Bump`] touches memory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(
    not(all(feature = "allocator", target_arch = "wasm32", not(feature = "std"))),
    allow(dead_code)
)]
pub(crate) struct Arena {
    next: usize,
    end: usize,
}

/// The WebAssembly page size.
const PAGE: usize = 65536;

#[cfg_attr(
    not(all(feature = "allocator", target_arch = "wasm32", not(feature = "std"))),
    allow(dead_code)
)]
impl Arena {
    /// The address of `size` bytes aligned to `align` (a power of two), or
    /// `None` when memory cannot grow. `grow(pages)` grows memory and returns
    /// the previous size in pages, as `memory.grow` does.
    pub(crate) fn alloc(
        &mut self,
        size: usize,
        align: usize,
        grow: impl FnOnce(usize) -> Option<usize>,
    ) -> Option<usize> {
        if let Some(start) = self.fit(size, align) {
            return Some(start);
        }
        // Enough pages for the allocation and any padding before it.
        let pages = size.checked_add(align)?.div_ceil(PAGE);
        let old_end = grow(pages)?.checked_mul(PAGE)?;
        let added = pages.checked_mul(PAGE)?;
        if old_end != self.end {
            // Not contiguous with the current region (the first allocation,
            // or someone else grew memory): start a new region.
            self.next = old_end;
        }
        self.end = old_end.checked_add(added)?;
        self.fit(size, align)
    }

    fn fit(&mut self, size: usize, align: usize) -> Option<usize> {
        if self.end == 0 {
            return None;
        }
        let start = self.next.checked_add(align - 1)? & !(align - 1);
        let end = start.checked_add(size)?;
        if end > self.end {
            return None;
        }
        self.next = end;
        Some(start)
    }

    /// Frees `start..start+size` when it is the most recent allocation.
    pub(crate) fn dealloc(&mut self, start: usize, size: usize) {
        if start.checked_add(size) == Some(self.next) {
            self.next = start;
        }
    }

    /// Resizes the most recent allocation in place when it fits; `false`
    /// when the caller must move it.
    pub(crate) fn resize_in_place(&mut self, start: usize, old: usize, new: usize) -> bool {
        let is_last = start.checked_add(old) == Some(self.next);
        match start.checked_add(new) {
            Some(end) if is_last && end <= self.end => {
                self.next = end;
                true
            }
            _ => new <= old,
        }
    }
}

#[cfg(all(feature = "allocator", target_arch = "wasm32", not(feature = "std")))]
mod global {
    use core::alloc::{GlobalAlloc, Layout};
    use core::cell::Cell;

    use super::Arena;

    /// The bump allocator as a `GlobalAlloc`.
    struct Bump(Cell<Arena>);

    // SAFETY: a spirit's module is single-threaded (wasm32 without the
    // `atomics` feature, which the sandbox does not enable), so the cell is
    // never shared between threads.
    unsafe impl Sync for Bump {}

    #[global_allocator]
    static ALLOCATOR: Bump = Bump(Cell::new(Arena { next: 0, end: 0 }));

    // SAFETY: `Arena` hands out disjoint, aligned ranges of memory obtained
    // from `memory.grow`, which nothing else uses; a range is handed out
    // again only after it was freed (or resized) by its owner.
    unsafe impl GlobalAlloc for Bump {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let mut arena = self.0.get();
            let grow = |pages| {
                let old = core::arch::wasm32::memory_grow(0, pages);
                (old != usize::MAX).then_some(old)
            };
            let result = arena.alloc(layout.size(), layout.align(), grow);
            self.0.set(arena);
            result.map_or(core::ptr::null_mut(), |address| address as *mut u8)
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            let mut arena = self.0.get();
            arena.dealloc(ptr as usize, layout.size());
            self.0.set(arena);
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            let mut arena = self.0.get();
            let in_place = arena.resize_in_place(ptr as usize, layout.size(), new_size);
            self.0.set(arena);
            if in_place {
                return ptr;
            }
            // SAFETY: the caller guarantees `layout.align()` is a valid
            // alignment and `new_size`, rounded up to it, does not overflow.
            let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
            // SAFETY: `new_layout` has a non-zero size (the caller's contract).
            let new = unsafe { self.alloc(new_layout) };
            if !new.is_null() {
                // SAFETY: both ranges are live allocations of at least
                // `min(old, new)` bytes, and distinct (the new one is past
                // `next`, the old one before it).
                unsafe { core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size)) };
            }
            new
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake `memory.grow` over `pages` pages.
    fn memory(pages: &mut usize) -> impl FnOnce(usize) -> Option<usize> + '_ {
        move |n| {
            let old = *pages;
            *pages += n;
            Some(old)
        }
    }

    #[test]
    fn allocations_are_aligned_disjoint_and_grow_memory() {
        let mut pages = 1; // the module's own data and stack
        let mut arena = Arena::default();
        let a = arena.alloc(10, 1, memory(&mut pages)).unwrap();
        assert_eq!(a, PAGE);
        assert_eq!(pages, 2);
        let b = arena.alloc(8, 8, memory(&mut pages)).unwrap();
        assert_eq!(b, PAGE + 16);
        // Bigger than what is left: the region grows contiguously.
        let c = arena.alloc(PAGE, 4, memory(&mut pages)).unwrap();
        assert_eq!(c, PAGE + 24);
        assert_eq!(pages, 4);
    }

    #[test]
    fn the_last_allocation_is_freed_and_resized_in_place() {
        let mut pages = 1;
        let mut arena = Arena::default();
        let a = arena.alloc(100, 4, memory(&mut pages)).unwrap();
        assert!(arena.resize_in_place(a, 100, 200));
        let b = arena.alloc(4, 4, memory(&mut pages)).unwrap();
        assert_eq!(b, a + 200);
        assert!(!arena.resize_in_place(a, 200, 300), "not the last one");
        assert!(arena.resize_in_place(a, 200, 50), "shrinking always fits");
        arena.dealloc(b, 4);
        assert_eq!(arena.alloc(4, 4, memory(&mut pages)).unwrap(), b);
    }

    #[test]
    fn failing_growth_is_reported_and_someone_elses_growth_is_skipped() {
        let mut arena = Arena::default();
        assert_eq!(arena.alloc(1, 1, |_| None), None);
        let mut pages = 3;
        let a = arena.alloc(PAGE - 1, 1, memory(&mut pages)).unwrap();
        assert_eq!(a, 3 * PAGE);
        pages += 1; // something else grew memory by a page
        let b = arena.alloc(2, 1, memory(&mut pages)).unwrap();
        assert_eq!(b, 5 * PAGE);
    }
}
