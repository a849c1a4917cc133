// count_work.rs - bench/count_bench.sh's Rust workloads.
// usage: count_work compute|memory N
//   compute: N rounds of sorting and hashing a 4096-element Vec (in cache)
//   memory:  N passes of random reads over a 64 MiB Vec (misses every cache)
use std::collections::HashMap;
use std::hint::black_box;

#[inline(never)]
fn compute(rounds: u64) -> u64 {
	let mut acc = 0u64;
	let mut v: Vec<u64> = (0..4096u64).map(|i| i.wrapping_mul(0x9e3779b97f4a7c15)).collect();
	for r in 0..rounds {
		v.sort_unstable_by_key(|x| x.rotate_left((r % 63) as u32));
		let mut m = HashMap::with_capacity(64);
		for x in v.iter().take(64) {
			*m.entry(x % 17).or_insert(0u64) += 1;
		}
		acc = acc.wrapping_add(m.len() as u64 + v[0]);
	}
	acc
}

#[inline(never)]
fn memory(passes: u64) -> u64 {
	let n = (64usize << 20) / 8;
	let a: Vec<u64> = (0..n as u64).collect();
	let mut i = 1usize;
	let mut s = 0u64;
	for _ in 0..passes * n as u64 / 64 {
		i = (i.wrapping_mul(1103515245).wrapping_add(12345)) % n;
		s = s.wrapping_add(a[i]);
	}
	s
}

fn main() {
	let args: Vec<String> = std::env::args().collect();
	let n: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(100);
	if args.get(1).map(|s| s.as_str()) == Some("memory") {
		println!("{}", black_box(memory(n)));
	} else {
		println!("{}", black_box(compute(n)));
	}
}
