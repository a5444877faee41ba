//! A spirit with crates.io dependencies: it parses JSON with serde_json
//! (no_std + alloc, with a bump allocator, since spirit-sdk brings none)
//! and formats the answer with itoa. The build benchmark and the e2e test
//! `a_spirit_with_crates_io_dependencies_builds_and_runs` both use it.
#![no_std]
extern crate alloc;

use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicUsize, Ordering};

const HEAP_SIZE: usize = 64 << 10;
static mut HEAP: [u8; HEAP_SIZE] = [0; HEAP_SIZE];
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// Hands out memory from a fixed arena and never frees: a run is short.
struct Bump;

unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let base = &raw mut HEAP as usize;
        let mut start = 0;
        let claimed = NEXT.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |next| {
            start = (base + next).next_multiple_of(layout.align()) - base;
            let end = start.checked_add(layout.size())?;
            (end <= HEAP_SIZE).then_some(end)
        });
        match claimed {
            Ok(_) => (base + start) as *mut u8,
            Err(_) => core::ptr::null_mut(),
        }
    }

    unsafe fn dealloc(&self, _: *mut u8, _: Layout) {}
}

#[global_allocator]
static ALLOCATOR: Bump = Bump;

#[spirit_sdk::main]
fn run() {
    let value: serde_json::Value = serde_json::from_str(r#"{"answer": 41}"#).unwrap();
    let answer = value["answer"].as_u64().unwrap() + 1;
    let mut buffer = itoa::Buffer::new();
    spirit_sdk::log::info(buffer.format(answer));
}
