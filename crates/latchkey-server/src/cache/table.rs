//! One shard's table of entries: open addressing with linear probing, each slot the entry's
//! 64-bit tag (the first eight bytes of its digest) beside the pointer to it.
//!
//! Why not a `HashSet`: hashbrown keeps its control bytes apart from its slots, so a hit reads
//! three places one after the other — a control group, a slot, the entry — and once the cache
//! outgrows the CPU's caches each is a miss of its own. Here a hit reads the slot's line, where
//! the tag picks the one entry worth reading, then that entry, whose whole digest is compared.
//!
//! The capacity need not be a power of two (a tag is scaled to it, not masked), so the table
//! grows by a quarter and stays between 68 and 85 % full: 16 bytes a slot, about 21 a token.
//! Removal shifts the run that follows back into the hole, so no tombstones pile up.
//!
//! The home slot comes from the tag mixed with a random key of the table's own, so a client that
//! grinds token digests cannot aim a flood of unknown tokens at one run of the table.

use super::CachedPrincipal;
use latchkey_core::TokenDigest;
use std::sync::Arc;

/// A slot: empty, or an entry and its tag.
#[derive(Default)]
struct Slot {
    tag: u64,
    entry: Option<Arc<CachedPrincipal>>,
}

/// The fullest a table gets, as a fraction of its slots: `(len + 1) * DEN > slots * NUM` grows it.
const FULLEST_NUM: usize = 17;
const FULLEST_DEN: usize = 20;

/// The entries of one shard, keyed by digest.
pub(super) struct Table {
    slots: Vec<Slot>,
    len: usize,
    /// Mixed into every tag before it is scaled to a slot.
    key: u64,
    /// Odd, so the mix is a bijection of the tag.
    multiplier: u64,
}

impl Default for Table {
    fn default() -> Table {
        Table {
            slots: Vec::new(),
            len: 0,
            key: rand::random(),
            multiplier: rand::random::<u64>() | 1,
        }
    }
}

impl Table {
    /// The slot a tag's search starts at.
    #[inline]
    fn home(&self, tag: u64) -> usize {
        let mixed = (tag ^ self.key).wrapping_mul(self.multiplier);
        // The high half of mixed × capacity: below the capacity, and spread like `mixed`.
        ((u128::from(mixed) * self.slots.len() as u128) >> 64) as usize
    }

    #[inline]
    fn next(&self, i: usize) -> usize {
        if i + 1 == self.slots.len() {
            0
        } else {
            i + 1
        }
    }

    /// Where `digest` is, if it is here.
    #[inline]
    fn find(&self, digest: &TokenDigest) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let tag = digest.prefix_u64();
        let mut i = self.home(tag);
        // Ends: the table is never full, so the search meets an empty slot.
        loop {
            let slot = &self.slots[i];
            match &slot.entry {
                None => return None,
                Some(e) if slot.tag == tag && e.digest == *digest => return Some(i),
                Some(_) => i = self.next(i),
            }
        }
    }

    /// The entry for `digest`.
    #[inline]
    pub(super) fn get(&self, digest: &TokenDigest) -> Option<&Arc<CachedPrincipal>> {
        self.find(digest).and_then(|i| self.slots[i].entry.as_ref())
    }

    /// Puts `entry` in, in place of the one with its digest if there is one, which it returns.
    pub(super) fn replace(&mut self, entry: Arc<CachedPrincipal>) -> Option<Arc<CachedPrincipal>> {
        if let Some(i) = self.find(&entry.digest) {
            return self.slots[i].entry.replace(entry);
        }
        if (self.len + 1) * FULLEST_DEN > self.slots.len() * FULLEST_NUM {
            self.resize(self.slots.len() + self.slots.len() / 4 + 8);
        }
        self.put(entry);
        None
    }

    /// Puts an entry whose digest is not here into the first empty slot of its run.
    fn put(&mut self, entry: Arc<CachedPrincipal>) {
        let tag = entry.digest.prefix_u64();
        let mut i = self.home(tag);
        while self.slots[i].entry.is_some() {
            i = self.next(i);
        }
        self.slots[i] = Slot {
            tag,
            entry: Some(entry),
        };
        self.len += 1;
    }

    /// Moves every entry into a table of `slots` slots (more than it holds).
    fn resize(&mut self, slots: usize) {
        let old = std::mem::replace(
            &mut self.slots,
            (0..slots).map(|_| Slot::default()).collect(),
        );
        self.len = 0;
        for entry in old.into_iter().filter_map(|s| s.entry) {
            self.put(entry);
        }
    }

    /// Takes the entry for `digest` out.
    pub(super) fn take(&mut self, digest: &TokenDigest) -> Option<Arc<CachedPrincipal>> {
        let mut hole = self.find(digest)?;
        let taken = self.slots[hole].entry.take();
        self.len -= 1;
        // Close the hole: each later entry of the run whose home is not between the hole and
        // itself would be cut off from its home by the empty slot, so it moves into the hole.
        let mut i = self.next(hole);
        while self.slots[i].entry.is_some() {
            let home = self.home(self.slots[i].tag);
            let reachable = if hole <= i {
                hole < home && home <= i
            } else {
                hole < home || home <= i
            };
            if !reachable {
                self.slots[hole] = std::mem::take(&mut self.slots[i]);
                hole = i;
            }
            i = self.next(i);
        }
        taken
    }

    /// Keeps only the entries `keep` says yes to (a scan), asking once for each.
    pub(super) fn retain(&mut self, mut keep: impl FnMut(&Arc<CachedPrincipal>) -> bool) {
        let going: Vec<TokenDigest> = self
            .slots
            .iter()
            .filter_map(|s| s.entry.as_ref())
            .filter(|e| !keep(e))
            .map(|e| e.digest)
            .collect();
        for digest in &going {
            self.take(digest);
        }
    }

    /// Entries held.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Drops every entry and the slots with them.
    pub(super) fn clear(&mut self) {
        self.slots = Vec::new();
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A digest whose tag is `tag` (so many share a home) and whose rest is `n`.
    fn digest(tag: u64, n: u64) -> TokenDigest {
        let mut d = [0u8; 32];
        d[..8].copy_from_slice(&tag.to_le_bytes());
        d[16..24].copy_from_slice(&n.to_le_bytes());
        TokenDigest(d)
    }

    fn entry(digest: TokenDigest, id: i64) -> Arc<CachedPrincipal> {
        CachedPrincipal::test_service(digest, id)
    }

    /// Every entry the model holds is found with its id, and nothing else is.
    fn agrees(table: &Table, model: &HashMap<TokenDigest, i64>, keys: &[TokenDigest]) {
        assert_eq!(table.len(), model.len());
        for k in keys {
            assert_eq!(table.get(k).map(|e| e.id.0), model.get(k).copied(), "{k:?}");
        }
        let held = table.slots.iter().filter(|s| s.entry.is_some()).count();
        assert_eq!(held, model.len());
        assert!(
            held < table.slots.len() || table.slots.is_empty(),
            "never full"
        );
    }

    #[test]
    fn an_empty_table_finds_nothing_and_takes_nothing() {
        let mut table = Table::default();
        assert!(table.get(&digest(1, 1)).is_none());
        assert!(table.take(&digest(1, 1)).is_none());
        table.retain(|_| false);
        assert_eq!(table.len(), 0);
    }

    #[test]
    fn a_digest_that_shares_a_tag_is_not_taken_for_another() {
        let mut table = Table::default();
        table.replace(entry(digest(7, 1), 1));
        assert!(table.get(&digest(7, 2)).is_none(), "same tag, other digest");
        assert_eq!(table.get(&digest(7, 1)).map(|e| e.id.0), Some(1));
        let old = table.replace(entry(digest(7, 1), 2));
        assert_eq!(old.map(|e| e.id.0), Some(1));
        assert_eq!(table.len(), 1);
    }

    /// Inserts, replacements, removals and scans against a `HashMap`, with digests crowded onto
    /// a few tags so runs are long, wrap past the table's end and are cut by removals.
    #[test]
    fn agrees_with_a_map_under_crowded_churn() {
        let keys: Vec<TokenDigest> = (0..400).map(|n| digest(n % 5, n)).collect();
        let mut table = Table::default();
        let mut model = HashMap::new();
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..20_000_i64 {
            let key = keys[(next() % keys.len() as u64) as usize];
            match next() % 10 {
                0..=5 => {
                    let old = table.replace(entry(key, round));
                    assert_eq!(old.map(|e| e.id.0), model.insert(key, round));
                }
                6..=8 => {
                    let taken = table.take(&key);
                    assert_eq!(taken.map(|e| e.id.0), model.remove(&key));
                }
                _ => {
                    let cut = (next() % 4) as i64;
                    table.retain(|e| e.id.0 % 4 != cut);
                    model.retain(|_, id| *id % 4 != cut);
                }
            }
            if round % 97 == 0 {
                agrees(&table, &model, &keys);
            }
        }
        agrees(&table, &model, &keys);
        table.clear();
        model.clear();
        agrees(&table, &model, &keys);
    }

    #[test]
    fn stays_between_68_and_85_percent_full_as_it_grows() {
        let mut table = Table::default();
        for n in 0..100_000_u64 {
            table.replace(entry(digest(n.wrapping_mul(0x9e37_79b9_7f4a_7c15), n), 1));
            if n > 1_000 {
                let load = table.len() as f64 / table.slots.len() as f64;
                assert!((0.67..=0.851).contains(&load), "{load} at {n}");
            }
        }
    }
}
