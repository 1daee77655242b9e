//! The schema and its versioned migrations.
//!
//! `PRAGMA user_version` holds the number of migrations applied. Opening an older file applies
//! the missing ones in one transaction; a file from a newer TraceDesk is refused rather than
//! misread. Migrations are only ever appended, never edited once released.
//!
//! Sizing: the units table is the only one that grows to tens of millions of rows, so it is a
//! `WITHOUT ROWID` table keyed by `(gtin INTEGER, serial TEXT)` (a GTIN-14 fits a 6-byte
//! integer); lot and expiry live once per lot in `lots` and a unit points at its lot row; the
//! status is a small integer (0 = active costs no payload byte in SQLite's record format); the
//! announcing shipment is an integer. About 40 bytes per unit for 12-character serials.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use super::StoreError;

/// Each entry upgrades the schema by one version.
pub const MIGRATIONS: &[&str] = &[
    // Version 1.
    "
    CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID;

    -- Product master data, one row per GTIN (the unit of sale).
    CREATE TABLE products (
        gtin         INTEGER PRIMARY KEY,
        ndc          TEXT,
        product_ndc  TEXT,
        name         TEXT,
        strength     TEXT,
        form         TEXT,
        manufacturer TEXT
    );
    CREATE INDEX products_by_product_ndc ON products(product_ndc) WHERE product_ndc IS NOT NULL;

    -- FDA NDC Directory product.txt rows, kept so that a package.txt imported before or after
    -- joins them (the two files share PRODUCTNDC).
    CREATE TABLE fda_products (
        product_ndc  TEXT PRIMARY KEY,
        name         TEXT,
        strength     TEXT,
        form         TEXT,
        manufacturer TEXT
    ) WITHOUT ROWID;

    -- One row per (GTIN, lot, expiry) that any unit was announced with.
    CREATE TABLE lots (
        id     INTEGER PRIMARY KEY,
        gtin   INTEGER NOT NULL,
        lot    TEXT NOT NULL,     -- '' when unknown
        expiry TEXT NOT NULL,     -- ISO date, '' when unknown
        UNIQUE (gtin, lot, expiry)
    );

    CREATE TABLE shipments (
        id         INTEGER PRIMARY KEY,
        name       TEXT NOT NULL UNIQUE,   -- the reference shown to people
        source     TEXT,
        created_at TEXT NOT NULL
    );
    -- Every reference a shipment is known by: PO, ASN (despatch advice), SSCC, event ID.
    CREATE TABLE shipment_refs (
        ref      TEXT PRIMARY KEY,
        kind     TEXT NOT NULL,
        shipment INTEGER NOT NULL REFERENCES shipments(id)
    ) WITHOUT ROWID;

    CREATE TABLE units (
        gtin     INTEGER NOT NULL,
        serial   TEXT NOT NULL,
        lot      INTEGER REFERENCES lots(id),
        status   INTEGER NOT NULL DEFAULT 0,
        shipment INTEGER REFERENCES shipments(id),
        PRIMARY KEY (gtin, serial)
    ) WITHOUT ROWID;
    CREATE INDEX units_by_shipment ON units(shipment) WHERE shipment IS NOT NULL;

    CREATE TABLE lot_recalls (
        gtin   INTEGER NOT NULL,
        lot    TEXT NOT NULL,
        reason TEXT NOT NULL,
        PRIMARY KEY (gtin, lot)
    ) WITHOUT ROWID;

    -- Aggregation: what a tote, case or pallet (SSCC) holds.
    CREATE TABLE container_units (
        sscc   INTEGER NOT NULL,
        gtin   INTEGER NOT NULL,
        serial TEXT NOT NULL,
        PRIMARY KEY (sscc, gtin, serial)
    ) WITHOUT ROWID;
    CREATE TABLE container_containers (
        sscc  INTEGER NOT NULL,
        child INTEGER NOT NULL,
        PRIMARY KEY (sscc, child)
    ) WITHOUT ROWID;

    -- Every unit scan at this desk through `receive`; accepted = the verdict was verified.
    CREATE TABLE receipts (
        id          INTEGER PRIMARY KEY,
        gtin        INTEGER NOT NULL,
        serial      TEXT NOT NULL,
        lot         TEXT,
        expiry      TEXT,
        shipment    INTEGER REFERENCES shipments(id),
        received_at TEXT NOT NULL,
        accepted    INTEGER NOT NULL,
        status      TEXT NOT NULL,
        reasons     TEXT NOT NULL,
        event_id    TEXT REFERENCES events(event_id)
    );
    CREATE INDEX receipts_by_unit ON receipts(gtin, serial, accepted);
    CREATE INDEX receipts_by_shipment ON receipts(shipment) WHERE shipment IS NOT NULL;

    -- Local holds put by a pharmacist; released_at NULL while in force.
    CREATE TABLE holds (
        id          INTEGER PRIMARY KEY,
        gtin        INTEGER NOT NULL,
        serial      TEXT NOT NULL,
        reason      TEXT NOT NULL,
        held_at     TEXT NOT NULL,
        released_at TEXT
    );
    CREATE INDEX holds_in_force ON holds(gtin, serial) WHERE released_at IS NULL;

    -- EPCIS events this desk recorded, and the queue that syncs them upstream. An outbox row
    -- is written in the same transaction as the receipt that caused its event.
    CREATE TABLE events (
        event_id   TEXT PRIMARY KEY,
        kind       TEXT NOT NULL,
        json       TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE outbox (
        event_id        TEXT PRIMARY KEY REFERENCES events(event_id),
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        parked_error    TEXT
    ) WITHOUT ROWID;
    ",
    // Version 2: what happened to each unit here, and the indexes that answer inventory,
    // expiry, recall and search questions at ten million units without a scan.
    "
    -- One row per unit accepted here: where it is now (verify::StockState code: 0 on hand,
    -- 1 dispensed, 2 returned to supplier, 3 destroyed, 4 decommissioned), kept in the same
    -- transaction as the receipt or action that changed it.
    CREATE TABLE stock (
        gtin        INTEGER NOT NULL,
        serial      TEXT NOT NULL,
        lot         TEXT,
        expiry      TEXT,
        shipment    INTEGER REFERENCES shipments(id),
        received_at TEXT NOT NULL,
        state       INTEGER NOT NULL DEFAULT 0,
        changed_at  TEXT NOT NULL,
        PRIMARY KEY (gtin, serial)
    ) WITHOUT ROWID;
    CREATE INDEX stock_by_lot ON stock(lot, gtin);
    CREATE INDEX stock_by_serial ON stock(serial);
    CREATE INDEX stock_on_hand_by_expiry ON stock(expiry) WHERE state = 0;

    INSERT INTO stock (gtin, serial, lot, expiry, shipment, received_at, state, changed_at)
        SELECT gtin, serial, lot, expiry, shipment, min(received_at), 0, min(received_at)
        FROM receipts WHERE accepted = 1 GROUP BY gtin, serial;

    -- The audit trail of pharmacist and shelf actions, each with the event it recorded.
    CREATE TABLE actions (
        id       INTEGER PRIMARY KEY,
        gtin     INTEGER NOT NULL,
        serial   TEXT NOT NULL,
        action   TEXT NOT NULL,
        reason   TEXT,
        at       TEXT NOT NULL,
        event_id TEXT REFERENCES events(event_id)
    );
    CREATE INDEX actions_by_unit ON actions(gtin, serial);
    -- Holds recorded before version 2 had no audit line: give them one (without an event,
    -- which they never had).
    INSERT INTO actions (gtin, serial, action, reason, at)
        SELECT gtin, serial, 'hold', reason, held_at FROM holds;
    INSERT INTO actions (gtin, serial, action, reason, at)
        SELECT gtin, serial, 'release', NULL, released_at FROM holds
        WHERE released_at IS NOT NULL;

    -- quarantine, suspect or illegitimate: the latter two verify as suspect.
    ALTER TABLE holds ADD COLUMN kind TEXT NOT NULL DEFAULT 'quarantine';

    -- Units a supplier reported recalled (or stolen...): few, so a partial index finds them.
    CREATE INDEX units_by_status ON units(status) WHERE status <> 0;
    CREATE INDEX receipts_by_time ON receipts(received_at);
    CREATE INDEX receipts_failed ON receipts(received_at, reasons) WHERE accepted = 0;
    CREATE INDEX container_units_by_unit ON container_units(gtin, serial);
    CREATE INDEX products_by_ndc ON products(ndc) WHERE ndc IS NOT NULL;
    ",
    // Version 3: trading-partner documents (the TI/TS archive), the parties and transactions
    // they name, where product master data came from, and the undo log that lets an import
    // be applied in short transactions yet rolled back whole.
    "
    -- Every partner document exactly as received, gzip-compressed, kept until retain_until
    -- (DSCSA: at least six years); only an explicit purge after that date removes one.
    CREATE TABLE documents (
        id           INTEGER PRIMARY KEY,
        sha256       TEXT NOT NULL UNIQUE,
        format       TEXT NOT NULL,
        sender       TEXT,
        receiver     TEXT,
        instance_id  TEXT,
        received_at  TEXT NOT NULL,
        retain_until TEXT NOT NULL,
        events       INTEGER NOT NULL,
        size         INTEGER NOT NULL,
        statement_affirmed INTEGER,
        legal_notice TEXT,
        content      BLOB NOT NULL
    );

    -- Names and addresses of parties and locations, from partners' master data.
    CREATE TABLE parties (
        id       TEXT PRIMARY KEY,   -- as the partner wrote it: an SGLN URN, a PGLN, a GLN
        gln      TEXT,
        name     TEXT,
        address  TEXT,
        document INTEGER REFERENCES documents(id)
    ) WITHOUT ROWID;
    CREATE INDEX parties_by_gln ON parties(gln) WHERE gln IS NOT NULL;

    -- Each transaction (a shipping event) a document announced: who sold to whom, from where to
    -- where, and the business documents that name it.
    CREATE TABLE transactions (
        id            INTEGER PRIMARY KEY,
        shipment      INTEGER NOT NULL REFERENCES shipments(id),
        document      INTEGER REFERENCES documents(id),
        event_id      TEXT NOT NULL,
        date          TEXT NOT NULL,
        seller        TEXT,
        buyer         TEXT,
        ship_from     TEXT,
        ship_to       TEXT,
        po            TEXT,
        invoice       TEXT,
        desadv        TEXT,
        drop_shipment INTEGER,
        statement_affirmed INTEGER,
        UNIQUE (shipment, event_id)
    );
    CREATE INDEX transactions_by_document ON transactions(document);

    -- Product values set from a partner's EPCClass master data (FDA and CSV values are the
    -- default and have no row); net content is the container size.
    ALTER TABLE products ADD COLUMN container_size TEXT;
    CREATE TABLE product_sources (
        gtin   INTEGER NOT NULL,
        field  TEXT NOT NULL,
        source TEXT NOT NULL,
        PRIMARY KEY (gtin, field)
    ) WITHOUT ROWID;

    -- Aggregation under a serialised case (an SGTIN parent), as GS1 US shipments nest units
    -- in cases on a pallet.
    CREATE TABLE case_units (
        case_gtin   INTEGER NOT NULL,
        case_serial TEXT NOT NULL,
        gtin        INTEGER NOT NULL,
        serial      TEXT NOT NULL,
        PRIMARY KEY (case_gtin, case_serial, gtin, serial)
    ) WITHOUT ROWID;

    -- An import being applied; its undo rows restore what it changed if it fails or the
    -- process dies before it is done.
    CREATE TABLE import_runs (
        id         INTEGER PRIMARY KEY,
        state      TEXT NOT NULL,          -- applying | done (a row lives only while it works)
        started_at TEXT NOT NULL
    );
    CREATE TABLE import_undo (
        seq INTEGER PRIMARY KEY,
        run INTEGER NOT NULL,
        op  TEXT NOT NULL,
        a, b, c, d, e, f, g
    );
    CREATE INDEX import_undo_by_run ON import_undo(run, seq);
    ",
    // Version 4: DSCSA exceptions (product and data that disagree) and the questions asked of
    // manufacturers through a verification router.
    "
    -- A shipment is closed once: what is still different then becomes exception cases.
    ALTER TABLE shipments ADD COLUMN closed_at TEXT;
    ALTER TABLE shipments ADD COLUMN closed_by TEXT;
    -- The PDG exception case this shipment's report and the partner's response share.
    ALTER TABLE shipments ADD COLUMN exception_case_uuid TEXT;
    -- Quantities a shipping event's quantityList gave per GTIN (for over- and under-shipment).
    CREATE TABLE shipment_quantities (
        shipment INTEGER NOT NULL REFERENCES shipments(id),
        gtin     INTEGER NOT NULL,
        quantity INTEGER NOT NULL,
        PRIMARY KEY (shipment, gtin)
    ) WITHOUT ROWID;

    -- One case per difference; a unit's identifiers are those seen on the pack (scanned) or in
    -- the data (announced), the data's own values for a misalignment in data_lot/data_expiry.
    CREATE TABLE exception_cases (
        id          INTEGER PRIMARY KEY,
        item_uuid   TEXT NOT NULL UNIQUE,   -- the PDG exception_item_uuid
        shipment    INTEGER REFERENCES shipments(id),
        kind        TEXT NOT NULL,
        gtin        INTEGER,
        serial      TEXT,
        lot         TEXT,
        expiry      TEXT,
        data_lot    TEXT,
        data_expiry TEXT,
        quantity_ordered  INTEGER,
        quantity_received INTEGER,
        note        TEXT,
        status      TEXT NOT NULL DEFAULT 'open',
        opened_at   TEXT NOT NULL,
        opened_by   TEXT,
        due_at      TEXT,                   -- end of the grace period of a pack held for data
        reported_at TEXT,
        resolved_at TEXT,
        resolved_by TEXT,
        resolution  TEXT
    );
    CREATE UNIQUE INDEX exception_cases_once ON exception_cases
        (ifnull(shipment, 0), kind, ifnull(gtin, 0), ifnull(serial, ''))
        WHERE kind <> 'damaged' OR serial IS NOT NULL;
    CREATE INDEX exception_cases_open ON exception_cases(status, shipment);
    CREATE INDEX exception_cases_by_unit ON exception_cases(gtin, serial);
    -- The audit trail of every case: opened, reported, answered, resolved, by whom.
    CREATE TABLE exception_log (
        id     INTEGER PRIMARY KEY,
        case_id INTEGER NOT NULL REFERENCES exception_cases(id),
        at     TEXT NOT NULL,
        actor  TEXT,
        action TEXT NOT NULL,
        detail TEXT
    );
    CREATE INDEX exception_log_by_case ON exception_log(case_id);

    -- Each question asked of a manufacturer (GS1 Lightweight Messaging) and its answer; a
    -- question the router could not take waits here (state queued) to be asked again.
    CREATE TABLE verification_requests (
        id            INTEGER PRIMARY KEY,
        gtin          INTEGER NOT NULL,
        serial        TEXT NOT NULL,
        lot           TEXT NOT NULL,
        expiry        TEXT NOT NULL,
        context       TEXT NOT NULL,
        requestor     TEXT NOT NULL,        -- the site GLN that asked
        corr_uuid     TEXT NOT NULL,
        requested_at  TEXT NOT NULL,
        state         TEXT NOT NULL,        -- queued | answered
        attempts      INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT,
        last_error    TEXT,
        answered_at   TEXT,
        verified      INTEGER,
        failure_reason  TEXT,
        additional_info TEXT,
        responder_gln TEXT
    );
    CREATE INDEX verification_requests_queued ON verification_requests(next_attempt_at)
        WHERE state = 'queued';
    CREATE INDEX verification_requests_by_unit ON verification_requests(gtin, serial);

    -- A suspect-product investigation: how many packages of the lot must be verified (DSCSA:
    -- at least 3 or 10 %, whichever is greater; all when fewer than 3) and which were.
    CREATE TABLE investigations (
        id        INTEGER PRIMARY KEY,
        gtin      INTEGER NOT NULL,
        lot       TEXT NOT NULL,
        opened_at TEXT NOT NULL,
        opened_by TEXT,
        required  INTEGER NOT NULL,
        closed_at TEXT,
        UNIQUE (gtin, lot)
    );
    CREATE TABLE investigation_checks (
        investigation INTEGER NOT NULL REFERENCES investigations(id),
        serial    TEXT NOT NULL,
        at        TEXT NOT NULL,
        verified  INTEGER,                  -- the manufacturer's answer; NULL while unanswered
        request   INTEGER REFERENCES verification_requests(id),
        PRIMARY KEY (investigation, serial)
    ) WITHOUT ROWID;
    ",
    // Version 5: the import that inserted a unit, so that undoing the import deletes its units
    // without an undo row for each. An import takes a tag when it first inserts a unit (a row
    // here while it works); AUTOINCREMENT never gives a tag twice, so the tag a finished import
    // left on its units names no later one.
    "
    ALTER TABLE units ADD COLUMN import_tag INTEGER;
    CREATE TABLE import_tags (
        id  INTEGER PRIMARY KEY AUTOINCREMENT,
        run INTEGER NOT NULL
    );
    ",
];

/// The schema version this build writes.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the file to this build's schema in one exclusive transaction; refuses a file a
/// newer build wrote.
pub(super) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found > VERSION {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found,
            supported: VERSION,
        });
    }
    if found == VERSION {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Exclusive)?;
    for (i, migration) in MIGRATIONS.iter().enumerate() {
        let version = i as i64 + 1;
        if version > found {
            tracing::info!(version, "migrating store schema");
            tx.execute_batch(migration)?;
        }
    }
    tx.pragma_update(None, "user_version", VERSION)?;
    tx.commit()?;
    Ok(())
}
