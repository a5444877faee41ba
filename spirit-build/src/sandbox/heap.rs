//! The host's allocator inside a spirit's memory (`vudo_alloc`,
//! `vudo_free`, `vudo_realloc`, and the records of `vudo_recv`).
//!
//! It hands out only addresses in pages the host grew itself: when nothing
//! fits, `vudo_alloc` grows the memory (through the store's limiter, so
//! within the memory limit) and the new pages become a host region. The
//! module's own data, stack and heap lie in the pages it had or grew itself,
//! which the host never allocates from; a module with its own allocator
//! keeps working, since `memory.grow` always returns fresh pages past
//! everything allocated. The bookkeeping (free blocks, live allocations) is
//! on the host's side: the spirit can write anywhere in its memory, host
//! regions included, but cannot make the host allocate outside its regions
//! or free what it never allocated.

use std::collections::BTreeMap;

/// A WebAssembly page, in bytes.
pub(crate) const PAGE: u64 = 64 << 10;
/// Allocations are multiples of this, and aligned to it.
const ALIGN: u64 = 8;
/// The most live host allocations per instance; past it `vudo_alloc`
/// returns `0`. It bounds the host's bookkeeping (a few dozen bytes each).
pub(crate) const MAX_LIVE_ALLOCATIONS: usize = 65_536;

/// Why an allocation failed (besides growing the memory, which the caller
/// reports).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HeapRefusal {
    /// The size is not positive, or larger than a 32-bit memory.
    BadSize,
    /// [`MAX_LIVE_ALLOCATIONS`] are live.
    TooMany,
    /// The address is not a live allocation of the host.
    NotAllocated,
}

/// The host's allocations in one instance's memory.
#[derive(Debug, Default)]
pub(crate) struct HostHeap {
    /// Free blocks inside host regions: start → length, never touching
    /// (adjacent free blocks are merged).
    free: BTreeMap<u64, u64>,
    /// Live allocations: start → length (rounded up to [`ALIGN`]).
    live: BTreeMap<u64, u64>,
    /// The host regions, start → end: every page the host grew.
    regions: BTreeMap<u64, u64>,
}

impl HostHeap {
    /// `size` rounded up to [`ALIGN`], when it is a size that can be
    /// allocated.
    pub(crate) fn rounded(size: i32) -> Result<u64, HeapRefusal> {
        let size = u64::try_from(size)
            .ok()
            .filter(|s| *s > 0)
            .ok_or(HeapRefusal::BadSize)?;
        Ok(size.div_ceil(ALIGN) * ALIGN)
    }

    /// How many pages to grow for an allocation of `size` bytes (rounded)
    /// that nothing free can hold.
    pub(crate) fn pages_for(size: u64) -> u64 {
        size.div_ceil(PAGE).max(1)
    }

    /// Takes `size` bytes (rounded) from the free blocks, first fit.
    pub(crate) fn take(&mut self, size: u64) -> Result<Option<u64>, HeapRefusal> {
        if self.live.len() >= MAX_LIVE_ALLOCATIONS {
            return Err(HeapRefusal::TooMany);
        }
        let Some((&start, &len)) = self.free.iter().find(|(_, len)| **len >= size) else {
            return Ok(None);
        };
        self.free.remove(&start);
        if len > size {
            self.free.insert(start + size, len - size);
        }
        self.live.insert(start, size);
        Ok(Some(start))
    }

    /// Adds pages the host grew, `start..end` (bytes), as a host region
    /// and a free block. Address 0 is never handed out (it means failure),
    /// so a region starting there loses its first [`ALIGN`] bytes.
    pub(crate) fn add_region(&mut self, start: u64, end: u64) {
        self.regions.insert(start, end);
        let start = if start == 0 { ALIGN } else { start };
        if start < end {
            self.release(start, end - start);
        }
    }

    /// Frees the allocation at `ptr`; returns its length.
    pub(crate) fn free(&mut self, ptr: u64) -> Result<u64, HeapRefusal> {
        let len = self.live.remove(&ptr).ok_or(HeapRefusal::NotAllocated)?;
        self.release(ptr, len);
        Ok(len)
    }

    /// The length of the live allocation at `ptr`.
    pub(crate) fn allocation(&self, ptr: u64) -> Option<u64> {
        self.live.get(&ptr).copied()
    }

    /// Resizes the live allocation at `ptr` to `size` (rounded) where it
    /// is, when it shrinks or the block after it is free and large enough;
    /// `false` when it must move.
    pub(crate) fn resize_in_place(&mut self, ptr: u64, size: u64) -> bool {
        let Some(len) = self.allocation(ptr) else {
            return false;
        };
        if size <= len {
            if size < len {
                self.live.insert(ptr, size);
                self.release(ptr + size, len - size);
            }
            return true;
        }
        let next = ptr + len;
        match self.free.get(&next).copied() {
            Some(free) if len + free >= size => {
                self.free.remove(&next);
                let rest = len + free - size;
                if rest > 0 {
                    self.free.insert(ptr + size, rest);
                }
                self.live.insert(ptr, size);
                true
            }
            _ => false,
        }
    }

    /// Whether `start..start+len` lies inside one host region (what the
    /// tests hold every allocation to).
    #[cfg(test)]
    pub(crate) fn in_host_region(&self, start: u64, len: u64) -> bool {
        self.regions
            .range(..=start)
            .next_back()
            .is_some_and(|(_, end)| start + len <= *end)
    }

    /// Returns `start..start+len` to the free blocks, merging neighbours
    /// (only blocks of the same region can touch: regions are separated by
    /// the module's pages, or adjacent when nothing grew in between).
    fn release(&mut self, mut start: u64, mut len: u64) {
        if let Some((&before, &before_len)) = self.free.range(..start).next_back()
            && before + before_len == start
        {
            self.free.remove(&before);
            start = before;
            len += before_len;
        }
        if let Some(after_len) = self.free.remove(&(start + len)) {
            len += after_len;
        }
        self.free.insert(start, len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocations_stay_in_host_regions_and_are_reused() {
        let mut heap = HostHeap::default();
        assert_eq!(heap.take(16), Ok(None));
        heap.add_region(3 * PAGE, 4 * PAGE);
        let a = heap.take(HostHeap::rounded(10).unwrap()).unwrap().unwrap();
        let b = heap.take(16).unwrap().unwrap();
        assert_eq!((a, b), (3 * PAGE, 3 * PAGE + 16));
        assert!(heap.in_host_region(a, 16) && !heap.in_host_region(2 * PAGE, 8));
        assert_eq!(heap.free(a), Ok(16));
        assert_eq!(heap.free(a), Err(HeapRefusal::NotAllocated));
        assert_eq!(heap.free(2 * PAGE), Err(HeapRefusal::NotAllocated));
        assert_eq!(heap.take(8).unwrap(), Some(a));
        // Growing in place takes the free block after it.
        assert!(heap.resize_in_place(b, 1024));
        assert_eq!(heap.allocation(b), Some(1024));
        assert!(!heap.resize_in_place(b, PAGE));
        assert!(heap.resize_in_place(b, 8));
        assert_eq!(heap.take(PAGE), Ok(None));
    }

    #[test]
    fn sizes_are_checked_and_address_zero_is_never_given() {
        assert_eq!(HostHeap::rounded(0), Err(HeapRefusal::BadSize));
        assert_eq!(HostHeap::rounded(-4), Err(HeapRefusal::BadSize));
        assert_eq!(HostHeap::rounded(9), Ok(16));
        assert_eq!(HostHeap::pages_for(1), 1);
        assert_eq!(HostHeap::pages_for(PAGE + 1), 2);
        let mut heap = HostHeap::default();
        heap.add_region(0, PAGE);
        assert_eq!(heap.take(8).unwrap(), Some(8));
    }

    #[test]
    fn live_allocations_are_capped() {
        let mut heap = HostHeap::default();
        heap.add_region(PAGE, PAGE + 8 * (MAX_LIVE_ALLOCATIONS as u64 + 1));
        for _ in 0..MAX_LIVE_ALLOCATIONS {
            assert!(heap.take(8).unwrap().is_some());
        }
        assert_eq!(heap.take(8), Err(HeapRefusal::TooMany));
    }
}
