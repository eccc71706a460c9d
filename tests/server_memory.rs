//! Memory held by an idle session: `size_of::<Server>()` plus the heap it
//! keeps after the greeting has been transmitted. A counting global
//! allocator measures live heap bytes; `harness = false` keeps other test
//! threads from allocating meanwhile.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Arc;

use esmtp::server::{Server, ServerConfig};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Live heap bytes of `n` idle sessions sharing one configuration, per
/// session.
fn heap_per_idle_session(config: &Arc<ServerConfig>, n: usize) -> isize {
    let before = LIVE.load(Ordering::Relaxed);
    let mut sessions = Vec::with_capacity(n);
    let vec_bytes = (n * std::mem::size_of::<Server>()) as isize;
    for _ in 0..n {
        let mut s = Server::new(Arc::clone(config));
        while let Some(greeting) = s.poll_transmit() {
            assert!(greeting.starts_with(b"220 "));
        }
        assert!(s.poll_event().is_none());
        sessions.push(s);
    }
    let after = LIVE.load(Ordering::Relaxed);
    drop(sessions);
    (after - before - vec_bytes) / n as isize
}

fn main() {
    let config = Arc::new(ServerConfig::new("mx.example.org").expect("a valid hostname"));
    let size = std::mem::size_of::<Server>();
    let heap = heap_per_idle_session(&config, 1000);
    println!("size_of::<Server>() = {size} bytes; heap per idle session after the greeting = {heap} bytes");
    assert!(
        size as isize + heap < 1024,
        "an idle session holds {size} + {heap} bytes (goal: under 1 KiB)"
    );
    // Replies already handed out leave nothing behind.
    assert!(heap < 64, "{heap} bytes of heap held by an idle session");
    println!("server_memory: ok");
}
