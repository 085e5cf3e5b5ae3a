// SPDX-License-Identifier: Apache-2.0
// The known 3:1 split in Rust (release build, no frame pointers), std only.
// usage: split_rust SECONDS [A B]
use std::hint::black_box;
use std::time::{Duration, Instant};

static mut SINK: u64 = 0;

#[inline(never)]
fn burn(n: u64) {
    for i in 0..n {
        unsafe {
            let s = std::ptr::read_volatile(std::ptr::addr_of!(SINK));
            std::ptr::write_volatile(std::ptr::addr_of_mut!(SINK), s.wrapping_add(i * 7));
        }
    }
}

mod work {
    #[inline(never)]
    // distinct bodies: identical functions would be merged into one symbol
    pub fn hot_a(n: u64) {
        super::burn(n);
        super::black_box(n ^ 0xa);
    }

    #[inline(never)]
    pub fn hot_b(n: u64) {
        super::burn(n);
        super::black_box(n ^ 0xb);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seconds: f64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(5.0);
    let a: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(3);
    let b: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1);
    let end = Instant::now() + Duration::from_secs_f64(seconds);
    while Instant::now() < end {
        work::hot_a(black_box(a * 3_000_000)); // turns of milliseconds: no aliasing
        work::hot_b(black_box(b * 3_000_000));
    }
}
