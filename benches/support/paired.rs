//! Shared by the benches: the CPU model line printed at the top of every
//! run, and the interleaved mode (`PAIRED=ROUNDS`): each round runs every
//! row once in a shuffled order ([`Order`]), so that a change of
//! background load falls on all of them alike and no row always follows
//! the same one; ratios to the reference rows are taken within each round
//! and their median over rounds reported.

use std::time::Duration;

/// The CPU model as `/proc/cpuinfo` names it (or the architecture).
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, model)| model.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

/// Prints the CPU model and the DATA scan width in use (the widest the CPU
/// has, or `SCAN_WIDTH`), once, before any figure.
pub fn print_cpu() {
    // SCAN_WIDTH=baseline|avx2|avx512 runs this thread's DATA scans at that
    // width instead of the widest, to compare widths on one CPU.
    if let Ok(want) = std::env::var("SCAN_WIDTH") {
        let width = esmtp::testing::scan_widths()
            .into_iter()
            .find(|w| format!("{w:?}").eq_ignore_ascii_case(&want));
        match width {
            Some(w) => assert!(esmtp::testing::force_scan_width(Some(w))),
            None => panic!(
                "SCAN_WIDTH={want}: this CPU has {:?}",
                esmtp::testing::scan_widths()
            ),
        }
    }
    println!(
        "CPU: {} (DATA scan width: {:?})",
        cpu_model(),
        esmtp::data::scan_width()
    );
}

/// One contender: its name, the rows it is compared with (indices; `None`
/// for no such column), and one timed run (set-up and clean-up untimed).
pub struct Row {
    pub name: &'static str,
    pub versus: [Option<usize>; 2],
    pub run: Box<dyn FnMut() -> Duration>,
}

/// The order of the rows within a round. By default each round runs them in
/// a fresh random order (a fixed seed, so a run repeats): with a fixed
/// rotation every row always follows the same neighbour, which moved the
/// DATA decoder row by 2× (BENCHMARKS.md, issue #10 round 4).
/// `ORDER=rotate` gives the rotation of earlier rounds.
pub struct Order {
    rotate: bool,
    seed: u64,
    rows: Vec<usize>,
}

impl Order {
    pub fn from_env(rows: usize) -> Order {
        Order {
            rotate: std::env::var("ORDER").is_ok_and(|o| o == "rotate"),
            seed: 0x9e37_79b9_7f4a_7c15,
            rows: (0..rows).collect(),
        }
    }

    /// The row to run `k`-th in `round`.
    pub fn row(&mut self, round: usize, k: usize) -> usize {
        let n = self.rows.len();
        if self.rotate {
            return (k + round) % n;
        }
        if k == 0 {
            // Fisher–Yates with a 64-bit LCG (Knuth's MMIX constants).
            for i in (1..n).rev() {
                self.seed = self
                    .seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                self.rows.swap(i, (self.seed >> 33) as usize % (i + 1));
            }
        }
        self.rows[k]
    }
}

/// Runs `rows` interleaved for `rounds` rounds and prints a table of the
/// median times and the median ratios (throughput of this row over the
/// reference row: > 1 is faster), headed by `columns`.
pub fn paired(title: &str, rounds: usize, columns: [&str; 2], mut rows: Vec<Row>) {
    // ROWS='a|b' runs only the rows whose names contain one of them (to see
    // a row without its neighbours); the others print as "–".
    let only: Option<Vec<String>> = std::env::var("ROWS")
        .ok()
        .map(|r| r.split('|').map(str::to_owned).collect());
    let runs = |name: &str| {
        only.as_ref()
            .is_none_or(|o| o.iter().any(|p| name.contains(p.as_str())))
    };
    let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); rows.len()];
    let mut order = Order::from_env(rows.len());
    for round in 0..rounds {
        for k in 0..rows.len() {
            let which = order.row(round, k);
            if !runs(rows[which].name) {
                continue;
            }
            let time = (rows[which].run)();
            times[which].push(time.as_secs_f64());
        }
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    println!("\n{title}: {rounds} interleaved rounds; median time, and the median over rounds of the throughput ratio");
    println!(
        "| contender | median | vs {} | vs {} |\n|---|---|---|---|",
        columns[0], columns[1]
    );
    for (i, row) in rows.iter().enumerate() {
        let ratio = |r: Option<usize>| match r {
            Some(r) => format!(
                "{:.2}x",
                median(times[r].iter().zip(&times[i]).map(|(a, b)| a / b).collect())
            ),
            None => "–".to_string(),
        };
        println!(
            "| {} | {:.3} ms | {} | {} |",
            row.name,
            median(times[i].clone()) * 1e3,
            ratio(row.versus[0]),
            ratio(row.versus[1])
        );
    }
}
