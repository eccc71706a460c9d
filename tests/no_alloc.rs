//! A command line without escapes parses without touching the heap: the
//! values borrow from the input. A counting global allocator checks it;
//! `harness = false` keeps other threads from allocating meanwhile.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use esmtp::command::Command;
use esmtp::ParseOptions;

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_while_parsing(line: &[u8], opts: &ParseOptions) -> usize {
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let parsed = Command::parse(line, opts);
    let after = ALLOCATIONS.load(Ordering::Relaxed);
    assert!(
        parsed.is_ok(),
        "{}: {parsed:?}",
        String::from_utf8_lossy(line)
    );
    drop(parsed);
    after - before
}

fn main() {
    let opts = ParseOptions::strict().with_utf8(true);
    let borrowed: &[&[u8]] = &[
        b"EHLO client.example.org\r\n",
        b"HELO [192.0.2.1]\r\n",
        b"MAIL FROM:<sender@example.org> SIZE=12345 BODY=8BITMIME\r\n",
        b"MAIL FROM:<> RET=HDRS ENVID=QQ314159\r\n",
        b"MAIL FROM:<a@b.org> SMTPUTF8 MT-PRIORITY=3 REQUIRETLS BY=120;R\r\n",
        b"RCPT TO:<rcpt@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;rcpt@example.net\r\n",
        b"RCPT TO:<Postmaster>\r\n",
        "RCPT TO:<用户@例子.广告>\r\n".as_bytes(),
        b"DATA\r\n",
        b"BDAT 1000 LAST\r\n",
        b"RSET\r\n",
        b"NOOP\r\n",
        b"QUIT\r\n",
        b"VRFY Smith\r\n",
        b"AUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=\r\n",
        b"STARTTLS\r\n",
        b"ETRN @example.org\r\n",
        // A private verb borrows its arguments. (XCLIENT and XFORWARD are
        // typed now: their rare, large attribute sets are boxed, one
        // allocation.)
        b"X-CLIENT NAME=x\r\n",
    ];
    let mut failures = 0;
    for line in borrowed {
        let n = allocations_while_parsing(line, &opts);
        let shown = String::from_utf8_lossy(line);
        if n == 0 {
            println!("ok   0 allocations  {}", shown.trim_end());
        } else {
            println!("FAIL {n} allocations  {}", shown.trim_end());
            failures += 1;
        }
    }
    // Escapes need an owned copy: the check can tell the two apart.
    let escaped = allocations_while_parsing(b"MAIL FROM:<\"a\\\"b\"@example.org>\r\n", &opts);
    if escaped == 0 {
        println!("FAIL a quoted-pair was unescaped without allocating?");
        failures += 1;
    }
    println!(
        "{} passed, {failures} failed",
        borrowed.len() + 1 - failures
    );
    if failures > 0 {
        std::process::exit(1);
    }
}
