//! Recall containment: a recall notice applied whole or not at all.
//!
//! Containing a recall records the notice's lots as recalled (scans of them are refused from
//! then on), finds every unit received here that the recall touches, and puts those still on
//! hand on hold, each hold with its audit line and EPCIS event, all in ONE transaction. A bad
//! line anywhere in the notice, or a failure while holding the units, leaves the store as it
//! was: never lots recalled with their units left on the shelf, never half of the units held.
//! The notice is read by [`RecallReader`], the same reader `import recalls` uses.

use super::StoreError;
use super::actions::quarantine_all_in;
use super::import::{ImportCounts, RecallReader, record_recalls};
use super::inventory::{InventoryItem, RecallQuery, recall_scope_in};
use crate::gs1::Sgtin;
use crate::verify::StockState;
use chrono::{DateTime, FixedOffset};
use rusqlite::TransactionBehavior;
use std::collections::HashSet;

/// The reason every recall hold carries.
pub const RECALL_HOLD_REASON: &str = "recall";

/// One unit a recall touches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AffectedUnit {
    /// The unit as it was before this containment held it.
    pub item: InventoryItem,
    /// This containment put it on hold (it was on hand and not held already).
    pub quarantined_now: bool,
}

/// What containing a recall did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Containment {
    /// The notice's lots recorded as recalled.
    pub recalls: ImportCounts,
    /// Every unit received here that the recall touches, each once, in the order found:
    /// notice line by notice line, then the extra queries; by GTIN and serial within each.
    pub affected: Vec<AffectedUnit>,
}

impl Containment {
    /// How many units this containment put on hold.
    pub fn quarantined(&self) -> usize {
        self.affected.iter().filter(|u| u.quarantined_now).count()
    }
}

impl super::Store {
    /// Contain a recall: record the lots of `notice` (when given) as recalled, find every unit
    /// received here that they or `queries` touch, and with `quarantine_at` put each one still
    /// on hand on hold at that time. One transaction: on any error nothing is changed.
    pub fn contain_recall(
        &mut self,
        notice: Option<RecallReader<'_>>,
        queries: &[RecallQuery],
        quarantine_at: Option<DateTime<FixedOffset>>,
    ) -> Result<Containment, StoreError> {
        let writes = notice.is_some() || quarantine_at.is_some();
        let actor = self.actor().map(str::to_owned);
        let tx = self.conn_mut().transaction_with_behavior(if writes {
            TransactionBehavior::Immediate
        } else {
            TransactionBehavior::Deferred
        })?;
        let mut seen = HashSet::new();
        let mut affected = Vec::new();
        let mut gather = |items: Vec<InventoryItem>| {
            for item in items {
                if seen.insert((item.gtin.clone(), item.serial.clone())) {
                    affected.push(item);
                }
            }
        };
        let recalls = match notice {
            // Units are found line by line, so a notice of any length costs memory only for
            // the units it touches.
            Some(notice) => record_recalls(&tx, notice, |line| {
                let query = RecallQuery {
                    gtin: Some(line.gtin.clone()),
                    lot: Some(line.lot.clone()),
                };
                gather(recall_scope_in(&tx, &query)?);
                Ok(())
            })?,
            None => ImportCounts::default(),
        };
        for query in queries {
            gather(recall_scope_in(&tx, query)?);
        }
        let mut held: HashSet<Sgtin> = HashSet::new();
        if let Some(now) = quarantine_at {
            let on_hand = affected
                .iter()
                .filter(|u| u.state == StockState::OnHand)
                .map(InventoryItem::sgtin)
                .collect::<Result<Vec<_>, _>>()?;
            held = quarantine_all_in(&tx, &on_hand, RECALL_HOLD_REASON, actor.as_deref(), now)?
                .into_iter()
                .map(|(sgtin, _)| sgtin)
                .collect();
        }
        tx.commit()?;
        let affected = affected
            .into_iter()
            .map(|item| {
                let quarantined_now = item.state == StockState::OnHand
                    && item.sgtin().is_ok_and(|s| held.contains(&s));
                AffectedUnit {
                    item,
                    quarantined_now,
                }
            })
            .collect();
        Ok(Containment { recalls, affected })
    }
}
