//! `livekpi::kpi::Room::ingest_columns` on arbitrary columnar batches (built with `arbitrary`:
//! rows of arbitrary values, each column present, absent or of a wrong length), then snapshots.
//!
//! Invariants: never panics; a batch whose columns all have the row count (or are empty) reports
//! accepted + duplicates + rejected = rows, with 1-based row numbers; a batch with a column of
//! another length, or with neither `id` nor `id_ref`, is rejected whole (one `column_length` /
//! `missing_field` error, no row applied); the room's
//! cumulative stats are the sums of the reports; `snapshot()` never panics and serializes.
#![no_main]

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use livekpi::kpi::{Columns, ErrorReason, Room, RoomConfig};

const T0: i64 = 1_735_000_000_000;
const NONE: u32 = u32::MAX;
const DAY_MS: i64 = 86_400_000;

/// An event time.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Ts {
    /// T0 + 10 ms × n (± 248 days).
    Near(i32),
    Raw(f64),
}

impl Ts {
    fn f(self) -> f64 {
        match self {
            Ts::Near(n) => (T0 + i64::from(n) * 10) as f64,
            Ts::Raw(x) => x,
        }
    }
}

/// A numeric cell (NaN = absent).
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Num {
    Absent,
    Small(u16),
    Int(i64),
    Raw(f64),
    Time(Ts),
}

impl Num {
    fn f(self) -> f64 {
        match self {
            Num::Absent => f64::NAN,
            Num::Small(n) => f64::from(n),
            Num::Int(n) => n as f64,
            Num::Raw(x) => x,
            Num::Time(t) => t.f(),
        }
    }
}

/// A string cell: absent, an index into the batch's string table (may be out of range), or raw.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Str {
    Absent,
    Idx(u8),
    Raw(u32),
}

impl Str {
    fn u(self) -> u32 {
        match self {
            Str::Absent => NONE,
            Str::Idx(i) => u32::from(i),
            Str::Raw(x) => x,
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Row {
    kind: u8,
    ts: Ts,
    id: Num,
    strs: [Str; 11],
    nums: [Num; 4],
    seen_before: u8,
}

/// How a column is given: empty (absent), one value per row, or one per row with `k` more or
/// fewer (a length mismatch unless that lands on 0 or the row count).
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Len {
    Full,
    Absent,
    Off(i8),
}

#[derive(Arbitrary, Debug)]
struct Batch {
    rows: Vec<Row>,
    /// ts, id, 11 string columns, 4 numeric columns, seen_before.
    lens: [Len; 18],
    strings: Vec<String>,
}

#[derive(Arbitrary, Debug)]
struct Input {
    end_minutes: Option<u16>,
    batches: Vec<Batch>,
    snapshot_at: Vec<Ts>,
}

fn column<T: Copy>(rows: &[Row], len: Len, get: impl Fn(&Row) -> T) -> Vec<T> {
    let n = rows.len();
    let want = match len {
        Len::Full => n,
        Len::Absent => 0,
        Len::Off(k) => n.saturating_add_signed(isize::from(k)).min(n + 128),
    };
    (0..want).map(|i| get(&rows[i % n.max(1)])).collect()
}

fuzz_target!(|input: Input| {
    let mut cfg = RoomConfig::new(T0);
    if let Some(m) = input.end_minutes {
        cfg = cfg.with_end(T0 + i64::from(m) * 60_000);
    }
    let mut room = Room::new(cfg);
    let (mut acc, mut dup, mut rej) = (0u64, 0u64, 0u64);
    for b in &input.batches {
        let rows = &b.rows;
        let n = rows.len();
        if n == 0 && b.lens.iter().any(|l| matches!(l, Len::Off(_))) {
            // `column` cycles over the rows; with none there is nothing to repeat
            continue;
        }
        let kind: Vec<u8> = rows.iter().map(|r| r.kind).collect();
        let l = &b.lens;
        let ts = column(rows, l[0], |r| r.ts.f());
        let id = column(rows, l[1], |r| r.id.f());
        let s: Vec<Vec<u32>> = (0..11)
            .map(|j| column(rows, l[2 + j], |r| r.strs[j].u()))
            .collect();
        let f: Vec<Vec<f64>> = (0..4)
            .map(|j| column(rows, l[13 + j], |r| r.nums[j].f()))
            .collect();
        let seen_before = column(rows, l[17], |r| r.seen_before);
        let c = Columns {
            kind: &kind,
            ts: &ts,
            id: &id,
            id_ref: &s[0],
            viewer: &s[1],
            session: &s[2],
            product: &s[3],
            order: &s[4],
            amount: &f[0],
            units: &f[1],
            count: &f[2],
            text: &s[5],
            option: &s[6],
            cohost: &s[7],
            region: &s[8],
            tier: &s[9],
            source: &s[10],
            follower_since_ms: &f[3],
            seen_before: &seen_before,
            strings: (&b.strings).into(),
        };
        let lens_ok = ts.len() == n
            && [
                id.len(),
                f[0].len(),
                f[1].len(),
                f[2].len(),
                f[3].len(),
                seen_before.len(),
            ]
            .into_iter()
            .chain(s.iter().map(Vec::len))
            .all(|l| l == 0 || l == n);
        let per_row = lens_ok && !(id.is_empty() && s[0].is_empty());
        let before = room.stats();
        let rep = room.ingest_columns(&c);
        if per_row {
            assert_eq!(
                rep.accepted + rep.duplicates + rep.rejected,
                n as u64,
                "rows not all accounted for: {rep:?}"
            );
            for e in &rep.errors {
                let line = e.line.expect("a row error has a row number") as usize;
                assert!((1..=n).contains(&line), "row {line} of {n}");
            }
        } else {
            // the whole batch is rejected: a column of another length, or no id column at all
            assert_eq!(
                (rep.accepted, rep.duplicates, rep.rejected),
                (0, 0, 1),
                "{rep:?}"
            );
            assert_eq!(rep.errors.len(), 1);
            let want = if lens_ok {
                (ErrorReason::MissingField, "id")
            } else {
                (ErrorReason::ColumnLength, rep.errors[0].field)
            };
            assert_eq!((rep.errors[0].reason, rep.errors[0].field), want);
            assert_eq!(rep.errors[0].line, None);
            let after = room.stats();
            assert_eq!(after.watermark_ms, before.watermark_ms);
            assert_eq!(after.accepted, before.accepted);
        }
        acc += rep.accepted;
        dup += rep.duplicates;
        rej += rep.rejected;
        let st = room.stats();
        assert_eq!((st.accepted, st.duplicates, st.rejected), (acc, dup, rej));
    }
    let wm = room.stats().watermark_ms.unwrap_or(T0);
    let mut times: Vec<i64> = input
        .snapshot_at
        .iter()
        .take(4)
        .map(|t| {
            let x = t.f();
            let now = if x.is_nan() { wm } else { x as i64 }; // saturating
            if room.stream_end_ms().is_some() {
                now
            } else {
                // a snapshot far past an open-ended stream has up to 100,000 minute rows (slow)
                now.clamp(T0 - DAY_MS, T0 + 3 * DAY_MS)
            }
        })
        .collect();
    times.push(wm);
    for now in times {
        let snap = room.snapshot(now);
        assert_eq!(snap.stats.accepted, acc);
        if snap.minutes <= 240 {
            serde_json::to_string(&snap).expect("snapshot serializes");
        }
    }
});
