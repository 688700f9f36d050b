//! Sentiment accuracy and macro-F1 of the built-in lexicon on the labelled set, per split, and
//! native throughput.
//!
//! ```sh
//! cargo run --release --features console --example sentiment_eval
//! cargo run --release --features console --example sentiment_eval -- --errors dev
//! cargo run --release --features console --example sentiment_eval -- --dump   # text<TAB>label
//! ```
//!
//! Asserts held-out macro-F1 ≥ `HELDOUT_MACRO_F1_FLOOR` and prints `N passed, M failed`.

use livekpi::sentiment::{analyze, Label, Lexicon};
use std::time::Instant;

/// Floor for the held-out macro-F1 (checked; the exit status is 1 below it).
const HELDOUT_MACRO_F1_FLOOR: f64 = 0.75;

struct Row {
    split: String,
    text: String,
    gold: Label,
}

fn load(path: &str) -> Vec<Row> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut split = String::from("dev");
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if let Some(s) = line.strip_prefix("# split:") {
            split = s.trim().to_string();
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (t, l) = line
            .rsplit_once('\t')
            .unwrap_or_else(|| panic!("{path}:{}: no tab", i + 1));
        let gold = Label::parse(l).unwrap_or_else(|| panic!("{path}:{}: label {l:?}", i + 1));
        rows.push(Row {
            split: split.clone(),
            text: t.to_string(),
            gold,
        });
    }
    rows
}

/// (accuracy, macro-F1, confusion[gold][pred]) of predictions.
#[allow(clippy::needless_range_loop)]
pub fn metrics(pairs: &[(Label, Label)]) -> (f64, f64, [[u32; 3]; 3]) {
    let mut cm = [[0u32; 3]; 3];
    for &(g, p) in pairs {
        cm[g as usize][p as usize] += 1;
    }
    let correct: u32 = (0..3).map(|i| cm[i][i]).sum();
    let acc = correct as f64 / pairs.len().max(1) as f64;
    let mut f1s = 0.0;
    for k in 0..3 {
        let tp = cm[k][k] as f64;
        let pred: f64 = (0..3).map(|g| cm[g][k] as f64).sum();
        let gold: f64 = cm[k].iter().map(|&x| x as f64).sum();
        let p = if pred > 0.0 { tp / pred } else { 0.0 };
        let r = if gold > 0.0 { tp / gold } else { 0.0 };
        f1s += if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        };
    }
    (acc, f1s / 3.0, cm)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let errors_for = args
        .iter()
        .position(|a| a == "--errors")
        .and_then(|i| args.get(i + 1).cloned());
    let path = args
        .iter()
        .find(|a| a.ends_with(".tsv"))
        .cloned()
        .unwrap_or_else(|| {
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sentiment/labelled.tsv").to_string()
        });
    let rows = load(&path);
    if args.iter().any(|a| a == "--dump") {
        for r in &rows {
            println!("{}\t{}", r.text, analyze(&r.text).label.as_str());
        }
        return;
    }
    println!(
        "livekpi sentiment: lexicon {} terms, labelled set {} comments ({path})",
        Lexicon::builtin().len(),
        rows.len()
    );
    let mut splits: Vec<String> = Vec::new();
    for r in &rows {
        if !splits.contains(&r.split) {
            splits.push(r.split.clone());
        }
    }
    splits.push("all".into());
    println!(
        "{:<8} {:>5} {:>9} {:>9}   gold pos/neu/neg",
        "split", "n", "accuracy", "macro-F1"
    );
    let mut heldout_f1 = None;
    for s in &splits {
        let sel: Vec<&Row> = rows
            .iter()
            .filter(|r| s == "all" || &r.split == s)
            .collect();
        let pairs: Vec<(Label, Label)> = sel
            .iter()
            .map(|r| (r.gold, analyze(&r.text).label))
            .collect();
        let (acc, f1, cm) = metrics(&pairs);
        let gold: Vec<u32> = cm.iter().map(|r| r.iter().sum()).collect();
        println!(
            "{:<8} {:>5} {:>9.3} {:>9.3}   {}/{}/{}",
            s,
            sel.len(),
            acc,
            f1,
            gold[0],
            gold[1],
            gold[2]
        );
        println!("         confusion (rows gold, cols predicted pos/neu/neg): {cm:?}");
        if s == "heldout" {
            heldout_f1 = Some(f1);
        }
        if errors_for.as_deref() == Some(s.as_str()) {
            for r in &sel {
                let a = analyze(&r.text);
                if a.label != r.gold {
                    let terms: Vec<String> = a
                        .terms
                        .iter()
                        .map(|h| format!("{}:{:+.2}", h.phrase, h.contribution))
                        .collect();
                    println!(
                        "    gold {:<8} got {:<8} {:+.2}  {}  [{}]",
                        r.gold.as_str(),
                        a.label.as_str(),
                        a.score,
                        r.text,
                        terms.join(" ")
                    );
                }
            }
        }
    }
    // Throughput: the whole set, repeated.
    let texts: Vec<&str> = rows.iter().map(|r| r.text.as_str()).collect();
    let mut n = 0u64;
    let mut sink = 0.0;
    let t0 = Instant::now();
    while t0.elapsed().as_secs_f64() < 1.0 {
        for t in &texts {
            sink += analyze(t).score;
            n += 1;
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    let bytes: usize = texts.iter().map(|t| t.len()).sum();
    println!(
        "throughput: {:.0} comments/s ({:.1} MB/s, mean {:.1} bytes/comment; checksum {sink:.1})",
        n as f64 / secs,
        (n as f64 / texts.len() as f64) * bytes as f64 / secs / 1e6,
        bytes as f64 / texts.len() as f64
    );
    if let Some(f1) = heldout_f1 {
        let ok = f1 >= HELDOUT_MACRO_F1_FLOOR;
        println!(
            "check held-out macro-F1 {f1:.3} >= {HELDOUT_MACRO_F1_FLOOR:.2}: {}",
            if ok { "ok" } else { "FAILED" }
        );
        println!("{} passed, {} failed", ok as u32, (!ok) as u32);
        if !ok {
            std::process::exit(1);
        }
    }
}
