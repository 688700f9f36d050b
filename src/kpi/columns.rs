//! Columnar ingestion: one slice per field (typed arrays on the JS side), strings in one table.

use super::error::{ErrorReason, IngestError, IngestReport};
use super::event::{check_amount, check_count, check_time, Event, EventType, IdKey, MAX_SAFE};
use super::room::{Outcome, Raw, Room};
use super::util::NONE;

/// A columnar batch. `kind` and `ts` are required and define the row count; every other column
/// is either empty (absent for all rows) or exactly as long as `kind` (else the whole batch is
/// rejected with `column_length`). String-valued fields are `u32` indexes into `strings`, with
/// `u32::MAX` meaning absent; numbers are `f64` with NaN meaning absent (except `ts`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Columns<'a> {
    /// Kind codes ([`EventType::code`]).
    pub kind: &'a [u8],
    /// Event times, ms since epoch.
    pub ts: &'a [f64],
    /// Numeric event ids (non-negative integers ≤ 2^53); NaN = use `id_ref`.
    pub id: &'a [f64],
    /// String event ids as indexes into `strings` (used when `id` is empty or NaN).
    pub id_ref: &'a [u32],
    /// Viewer ids (indexes into `strings`).
    pub viewer: &'a [u32],
    /// Session ids.
    pub session: &'a [u32],
    /// Product ids.
    pub product: &'a [u32],
    /// Order ids.
    pub order: &'a [u32],
    /// Amounts in fen (NaN = absent).
    pub amount: &'a [f64],
    /// Units of paid orders (NaN = absent).
    pub units: &'a [f64],
    /// Like counts (NaN = absent).
    pub count: &'a [f64],
    /// Comment texts.
    pub text: &'a [u32],
    /// Vote options.
    pub option: &'a [u32],
    /// Co-host ids.
    pub cohost: &'a [u32],
    /// Regions.
    pub region: &'a [u32],
    /// Spending tiers.
    pub tier: &'a [u32],
    /// Traffic sources.
    pub source: &'a [u32],
    /// Follower-since times in ms (NaN = absent).
    pub follower_since_ms: &'a [f64],
    /// Seen before: 0 = false, 1 = true, anything else = absent.
    pub seen_before: &'a [u8],
    /// The string table.
    pub strings: StringTable<'a>,
}

/// A batch's string table: the string-valued columns hold indexes into it.
#[derive(Clone, Copy, Debug)]
pub enum StringTable<'a> {
    /// One `String` per entry.
    List(&'a [String]),
    /// Every entry's text back to back, and each entry's end (byte offset into `text`; entry
    /// `k` is `text[ends[k-1]..ends[k]]`, starting at 0): the layout of an Arrow utf8 column.
    /// An entry whose bounds are out of order, past the text or not on a character boundary
    /// reads as missing (the row is rejected with `bad_index`).
    Packed {
        /// All entries' UTF-8 text.
        text: &'a str,
        /// End byte offset of each entry.
        ends: &'a [u32],
    },
}

impl Default for StringTable<'_> {
    fn default() -> Self {
        StringTable::List(&[])
    }
}

impl<'a> From<&'a [String]> for StringTable<'a> {
    fn from(list: &'a [String]) -> Self {
        StringTable::List(list)
    }
}

impl<'a> From<&'a Vec<String>> for StringTable<'a> {
    fn from(list: &'a Vec<String>) -> Self {
        StringTable::List(list)
    }
}

impl<'a> StringTable<'a> {
    /// Number of entries.
    pub fn len(&self) -> usize {
        match self {
            StringTable::List(l) => l.len(),
            StringTable::Packed { ends, .. } => ends.len(),
        }
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entry `k`, or None when there is none.
    #[inline]
    pub fn get(&self, k: usize) -> Option<&'a str> {
        match *self {
            StringTable::List(l) => l.get(k).map(String::as_str),
            StringTable::Packed { text, ends } => {
                let end = *ends.get(k)? as usize;
                let start = if k == 0 { 0 } else { ends[k - 1] as usize };
                text.get(start..end)
            }
        }
    }
}

/// Owned columns, e.g. built from events with [`OwnedColumns::from_events`] (tests, benchmarks).
/// Each field is the owned form of the [`Columns`] field of the same name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OwnedColumns {
    /// See [`Columns::kind`].
    pub kind: Vec<u8>,
    /// See [`Columns::ts`].
    pub ts: Vec<f64>,
    /// See [`Columns::id`].
    pub id: Vec<f64>,
    /// See [`Columns::id_ref`].
    pub id_ref: Vec<u32>,
    /// See [`Columns::viewer`].
    pub viewer: Vec<u32>,
    /// See [`Columns::session`].
    pub session: Vec<u32>,
    /// See [`Columns::product`].
    pub product: Vec<u32>,
    /// See [`Columns::order`].
    pub order: Vec<u32>,
    /// See [`Columns::amount`].
    pub amount: Vec<f64>,
    /// See [`Columns::units`].
    pub units: Vec<f64>,
    /// See [`Columns::count`].
    pub count: Vec<f64>,
    /// See [`Columns::text`].
    pub text: Vec<u32>,
    /// See [`Columns::option`].
    pub option: Vec<u32>,
    /// See [`Columns::cohost`].
    pub cohost: Vec<u32>,
    /// See [`Columns::region`].
    pub region: Vec<u32>,
    /// See [`Columns::tier`].
    pub tier: Vec<u32>,
    /// See [`Columns::source`].
    pub source: Vec<u32>,
    /// See [`Columns::follower_since_ms`].
    pub follower_since_ms: Vec<f64>,
    /// See [`Columns::seen_before`].
    pub seen_before: Vec<u8>,
    /// See [`Columns::strings`].
    pub strings: Vec<String>,
}

impl OwnedColumns {
    /// Converts events to columns (all columns present, ids numeric when canonical).
    pub fn from_events(events: &[Event]) -> OwnedColumns {
        let mut c = OwnedColumns::default();
        let mut table: std::collections::HashMap<String, u32> = Default::default();
        let mut s = |c: &mut Vec<String>, v: &Option<String>| -> u32 {
            match v {
                None => NONE,
                Some(v) => *table.entry(v.clone()).or_insert_with(|| {
                    c.push(v.clone());
                    (c.len() - 1) as u32
                }),
            }
        };
        let nf = |v: Option<i64>| v.map_or(f64::NAN, |x| x as f64);
        for e in events {
            c.kind.push(e.kind.code());
            c.ts.push(e.ts as f64);
            match IdKey::from_str(&e.id) {
                IdKey::Num(n) => {
                    c.id.push(n as f64);
                    c.id_ref.push(NONE);
                }
                IdKey::Text(_) => {
                    c.id.push(f64::NAN);
                    let i = s(&mut c.strings, &Some(e.id.clone()));
                    c.id_ref.push(i);
                }
            }
            let v = s(&mut c.strings, &e.viewer);
            c.viewer.push(v);
            let v = s(&mut c.strings, &e.session);
            c.session.push(v);
            let v = s(&mut c.strings, &e.product);
            c.product.push(v);
            let v = s(&mut c.strings, &e.order);
            c.order.push(v);
            c.amount.push(nf(e.amount));
            c.units.push(nf(e.units));
            c.count.push(nf(e.count));
            let v = s(&mut c.strings, &e.text);
            c.text.push(v);
            let v = s(&mut c.strings, &e.option);
            c.option.push(v);
            let v = s(&mut c.strings, &e.cohost);
            c.cohost.push(v);
            let v = s(&mut c.strings, &e.region);
            c.region.push(v);
            let v = s(&mut c.strings, &e.tier);
            c.tier.push(v);
            let v = s(&mut c.strings, &e.source);
            c.source.push(v);
            c.follower_since_ms.push(nf(e.follower_since_ms));
            c.seen_before.push(match e.seen_before {
                None => 2,
                Some(false) => 0,
                Some(true) => 1,
            });
        }
        c
    }

    /// Borrowed view for [`Room::ingest_columns`].
    pub fn view(&self) -> Columns<'_> {
        Columns {
            kind: &self.kind,
            ts: &self.ts,
            id: &self.id,
            id_ref: &self.id_ref,
            viewer: &self.viewer,
            session: &self.session,
            product: &self.product,
            order: &self.order,
            amount: &self.amount,
            units: &self.units,
            count: &self.count,
            text: &self.text,
            option: &self.option,
            cohost: &self.cohost,
            region: &self.region,
            tier: &self.tier,
            source: &self.source,
            follower_since_ms: &self.follower_since_ms,
            seen_before: &self.seen_before,
            strings: (&self.strings).into(),
        }
    }
}

impl Columns<'_> {
    fn check_lengths(&self) -> Result<usize, IngestError> {
        let n = self.kind.len();
        let err = |f| Err(IngestError::new(f, ErrorReason::ColumnLength));
        if self.ts.len() != n {
            return err("ts");
        }
        let f64s: [(&'static str, usize); 5] = [
            ("id", self.id.len()),
            ("amount", self.amount.len()),
            ("units", self.units.len()),
            ("count", self.count.len()),
            ("follower_since_ms", self.follower_since_ms.len()),
        ];
        let u32s: [(&'static str, usize); 12] = [
            ("id_ref", self.id_ref.len()),
            ("viewer", self.viewer.len()),
            ("session", self.session.len()),
            ("product", self.product.len()),
            ("order", self.order.len()),
            ("text", self.text.len()),
            ("option", self.option.len()),
            ("cohost", self.cohost.len()),
            ("region", self.region.len()),
            ("tier", self.tier.len()),
            ("source", self.source.len()),
            ("seen_before", self.seen_before.len()),
        ];
        for (f, l) in f64s.iter().chain(u32s.iter()) {
            if *l != 0 && *l != n {
                return err(f);
            }
        }
        if self.id.is_empty() && self.id_ref.is_empty() {
            return Err(IngestError::new("id", ErrorReason::MissingField));
        }
        Ok(n)
    }
}

/// Per-batch cache: string-table index → interned id, per key table (viewer, session, product,
/// order, labels), so each string of a batch is hashed once it is known. Only ids below `mark`
/// (the table sizes before the current row) are cached: a key first interned by a row that is
/// then not accepted is rolled back ([`Room::keys_rollback`]), and its id may be reused.
struct StrCache {
    ids: Vec<[u32; 5]>,
    mark: [u32; 5],
}

const UNSEEN: u32 = u32::MAX - 1;

fn num_at(col: &[f64], i: usize) -> Option<f64> {
    col.get(i).copied().filter(|x| !x.is_nan())
}

impl Room {
    /// Ingests a columnar batch. Row errors are reported with `line` = row + 1 and the rest kept;
    /// a length mismatch rejects the whole batch (one error, `line` = None).
    pub fn ingest_columns(&mut self, c: &Columns<'_>) -> IngestReport {
        let mut rep = IngestReport::default();
        let n = match c.check_lengths() {
            Ok(n) => n,
            Err(e) => {
                let e = self.count_err(e);
                rep.push_error(e);
                return rep;
            }
        };
        // a string table much larger than the batch (shared across batches) is not cached
        let cached = c.strings.len() <= 4 * n + 256;
        let mut cache = StrCache {
            ids: if cached {
                vec![[UNSEEN; 5]; c.strings.len()]
            } else {
                Vec::new()
            },
            mark: [0; 5],
        };
        self.ingest_rows(c, n, &mut cache, &mut rep);
        rep
    }

    fn ingest_rows(
        &mut self,
        c: &Columns<'_>,
        n: usize,
        cache: &mut StrCache,
        rep: &mut IngestReport,
    ) {
        for i in 0..n {
            let line = u32::try_from(i + 1).unwrap_or(u32::MAX);
            cache.mark = self.keys_mark();
            let r = self.raw_from_row(c, i, cache).and_then(|raw| {
                // the session's text as the batch has it (the interned copy is colder)
                let s = match (raw.session, c.session.get(i)) {
                    (NONE, _) | (_, None) => None,
                    (_, Some(&k)) => c.strings.get(k as usize),
                };
                self.accept_as(raw, s)
            });
            if !matches!(r, Ok(Outcome::Accepted)) {
                self.keys_rollback(cache.mark);
            }
            let r = r.map_err(|mut e| {
                e.line = Some(line);
                self.count_err(e)
            });
            self.tally(r, rep);
        }
        self.finalize();
    }

    /// The string of batch ref `k`.
    #[inline]
    fn ref_str<'s>(c: &'s Columns<'_>, k: u32, f: &'static str) -> Result<&'s str, IngestError> {
        c.strings
            .get(k as usize)
            .ok_or(IngestError::new(f, ErrorReason::BadIndex))
    }

    fn raw_from_row(
        &mut self,
        c: &Columns<'_>,
        i: usize,
        cache: &mut StrCache,
    ) -> Result<Raw, IngestError> {
        let ty = EventType::from_code(c.kind[i])
            .ok_or(IngestError::new("kind", ErrorReason::UnknownKind))?;
        let key = match num_at(c.id, i) {
            Some(x) => {
                if !x.is_finite() {
                    return Err(IngestError::new("id", ErrorReason::NotFinite));
                }
                if x < 0.0 {
                    return Err(IngestError::new("id", ErrorReason::Negative));
                }
                if x.fract() != 0.0 {
                    return Err(IngestError::new("id", ErrorReason::NotInteger));
                }
                if x > MAX_SAFE as f64 {
                    return Err(IngestError::new("id", ErrorReason::OutOfRange));
                }
                IdKey::Num(x as u64)
            }
            None => match c.id_ref.get(i) {
                Some(&k) if k != NONE => IdKey::from_str(Self::ref_str(c, k, "id")?),
                _ => return Err(IngestError::new("id", ErrorReason::MissingField)),
            },
        };
        let ts = check_time(c.ts[i], "ts")?;
        let mut r = Raw::new(key, ts, ty);
        r.amount = num_at(c.amount, i)
            .map(|x| check_amount(x, "amount"))
            .transpose()?;
        r.units = num_at(c.units, i)
            .map(|x| check_count(x, "units"))
            .transpose()?;
        r.count = num_at(c.count, i)
            .map(|x| check_count(x, "count"))
            .transpose()?;
        r.follower_since = num_at(c.follower_since_ms, i)
            .map(|x| check_time(x, "follower_since_ms"))
            .transpose()?;
        r.seen_before = match c.seen_before.get(i) {
            Some(0) => Some(false),
            Some(1) => Some(true),
            _ => None,
        };
        r.text_hash = match c.text.get(i) {
            Some(&k) if k != NONE => Some(self.text_hash(Self::ref_str(c, k, "text")?)?),
            _ => None,
        };
        r.viewer = self.col_id::<0>(c, c.viewer, i, "viewer", cache)?;
        r.session = self.col_id::<1>(c, c.session, i, "session", cache)?;
        r.product = self.col_id::<2>(c, c.product, i, "product", cache)?;
        r.order = self.col_id::<3>(c, c.order, i, "order", cache)?;
        r.option = self.col_id::<4>(c, c.option, i, "option", cache)?;
        r.cohost = self.col_id::<4>(c, c.cohost, i, "cohost", cache)?;
        r.region = self.col_id::<4>(c, c.region, i, "region", cache)?;
        r.tier = self.col_id::<4>(c, c.tier, i, "tier", cache)?;
        r.source = self.col_id::<4>(c, c.source, i, "source", cache)?;
        r.check_required()?;
        Ok(r)
    }

    /// Interned id of row `i` of a string column (table `T`: 0 viewer, 1 session, 2 product,
    /// 3 order, 4 labels), via the batch cache.
    #[inline(always)]
    fn col_id<const T: usize>(
        &mut self,
        c: &Columns<'_>,
        col: &[u32],
        i: usize,
        f: &'static str,
        cache: &mut StrCache,
    ) -> Result<u32, IngestError> {
        let k = match col.get(i) {
            None | Some(&NONE) => return Ok(NONE),
            Some(&k) => k as usize,
        };
        if let Some(e) = cache.ids.get(k) {
            if e[T] != UNSEEN {
                return Ok(e[T]);
            }
        }
        let Some(s) = c.strings.get(k) else {
            return Err(IngestError::new(f, ErrorReason::BadIndex));
        };
        let id = self.key(T, s, f)?;
        if id < cache.mark[T] {
            if let Some(e) = cache.ids.get_mut(k) {
                e[T] = id;
            }
        }
        Ok(id)
    }
}
