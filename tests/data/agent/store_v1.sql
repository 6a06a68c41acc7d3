-- A tienbo agent store as schema version 1 wrote it, kept by hand (not
-- generated from agent/schema.c, so a change to the old step is caught).
-- test_store.c loads it and checks the upgrade to the current version:
-- the rows and their states survive, wire_bytes is filled from the stored
-- JSON, and the sync times move from meta to sync_state.
PRAGMA application_id = 1952604519;
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE queue (
  seq           INTEGER PRIMARY KEY AUTOINCREMENT CHECK (seq > 0),
  id            TEXT NOT NULL,
  revision      INTEGER NOT NULL CHECK (revision >= 1),
  kind          TEXT NOT NULL,
  date          TEXT NOT NULL,
  recorded_at   INTEGER NOT NULL,
  voided        INTEGER NOT NULL DEFAULT 0 CHECK (voided IN (0, 1)),
  void_reason   TEXT,
  fields        TEXT NOT NULL,
  state         INTEGER NOT NULL DEFAULT 0 CHECK (state IN (0, 1, 2)),
  reject_reason TEXT,
  wire          TEXT NOT NULL,
  UNIQUE (id, revision)
);
INSERT INTO meta VALUES ('device', '5f0c2f9e-1a2b-4c3d-8e4f-0123456789ab');
INSERT INTO meta VALUES ('school', 'HB-001');
INSERT INTO meta VALUES ('last_attempt', '1763881200');
INSERT INTO meta VALUES ('last_success', '1763715600');
INSERT INTO meta VALUES ('last_error', 'could not connect to the server');
INSERT INTO meta VALUES ('last_error_at', '1763881200');
INSERT INTO queue VALUES (1, '11111111-2222-4333-8444-555555555501', 1,
  'outreach', '2025-11-20', 1763626500, 0, NULL,
  '{"title":"Họp phụ huynh","parents":40,"students":120}', 1, NULL,
  '{"id":"11111111-2222-4333-8444-555555555501","seq":1,"kind":"outreach","date":"2025-11-20","revision":1,"recorded_at":"2025-11-20T08:15:00Z","title":"Họp phụ huynh","parents":40,"students":120}');
INSERT INTO queue VALUES (2, '11111111-2222-4333-8444-555555555502', 1,
  'training', '2025-11-21', 1763715600, 0, NULL,
  '{"title":"Tập huấn","participants":10,"female":7}', 0, NULL,
  '{"id":"11111111-2222-4333-8444-555555555502","seq":2,"kind":"training","date":"2025-11-21","revision":1,"recorded_at":"2025-11-21T09:00:00Z","title":"Tập huấn","participants":10,"female":7}');
INSERT INTO queue VALUES (3, '11111111-2222-4333-8444-555555555501', 2,
  'outreach', '2025-11-20', 1763807400, 0, NULL,
  '{"title":"Họp phụ huynh","parents":45,"students":120}', 0, NULL,
  '{"id":"11111111-2222-4333-8444-555555555501","seq":3,"kind":"outreach","date":"2025-11-20","revision":2,"recorded_at":"2025-11-22T10:30:00Z","title":"Họp phụ huynh","parents":45,"students":120}');
PRAGMA user_version = 1;
