-- tests/data/server/schema-v1.sql: a tienbo-server database of schema 1
-- (user_version 1), as server/db.c created it before unit_closures, with
-- a few rows. tests/test_units.c loads it with sqlite3_exec into a new
-- file and opens that with the server to test the migration to schema 2.
-- The CREATE statements are schema 1's exactly; do not edit them (a
-- schema 3 gets its own fixture).
CREATE TABLE units(
  code TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  type TEXT NOT NULL CHECK(type IN ('school','district','province')),
  level TEXT,
  district TEXT REFERENCES units(code),
  province TEXT REFERENCES units(code),
  created_at INTEGER NOT NULL);
CREATE INDEX units_district ON units(district);
CREATE INDEX units_province ON units(province);
CREATE TABLE devices(
  id INTEGER PRIMARY KEY,
  school TEXT NOT NULL REFERENCES units(code),
  token_prefix TEXT NOT NULL,
  token_hash BLOB NOT NULL,
  device TEXT,
  enrolled_at INTEGER NOT NULL,
  last_seen INTEGER,
  revoked_at INTEGER);
CREATE INDEX devices_prefix ON devices(token_prefix);
CREATE INDEX devices_school ON devices(school);
CREATE UNIQUE INDEX devices_active_device ON devices(device) WHERE device IS NOT NULL AND revoked_at IS NULL;
CREATE TABLE cursors(
  device TEXT PRIMARY KEY,
  school TEXT NOT NULL,
  committed_through INTEGER NOT NULL,
  updated_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE admin_tokens(
  id INTEGER PRIMARY KEY,
  token_prefix TEXT NOT NULL,
  token_hash BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER);
CREATE INDEX admin_tokens_prefix ON admin_tokens(token_prefix);
CREATE TABLE events(
  id TEXT PRIMARY KEY,
  school TEXT NOT NULL,
  kind TEXT NOT NULL,
  date TEXT NOT NULL,
  revision INTEGER NOT NULL,
  voided INTEGER NOT NULL,
  device TEXT,
  seq INTEGER,
  recorded_at INTEGER,
  received_at INTEGER NOT NULL,
  content_hash BLOB NOT NULL,
  body TEXT NOT NULL) WITHOUT ROWID;
CREATE INDEX events_school_kind_date ON events(school, kind, date);
CREATE INDEX events_kind_voided_date ON events(kind, voided, date);
CREATE TABLE event_history(
  id TEXT NOT NULL,
  revision INTEGER NOT NULL,
  school TEXT NOT NULL,
  kind TEXT NOT NULL,
  date TEXT NOT NULL,
  voided INTEGER NOT NULL,
  device TEXT,
  seq INTEGER,
  recorded_at INTEGER,
  received_at INTEGER NOT NULL,
  content_hash BLOB NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY(id, revision)) WITHOUT ROWID;
CREATE TABLE rejections(
  id INTEGER PRIMARY KEY,
  device TEXT NOT NULL,
  school TEXT NOT NULL,
  seq INTEGER NOT NULL,
  event_id TEXT NOT NULL,
  reason TEXT NOT NULL,
  received_at INTEGER NOT NULL);
CREATE INDEX rejections_school ON rejections(school);

INSERT INTO units VALUES('HB', 'Tỉnh Hòa Bình', 'province', NULL, NULL, NULL, 1735689600);
INSERT INTO units VALUES('DABAC', 'DABAC', 'district', NULL, NULL, 'HB', 1735689600);
INSERT INTO units VALUES('HB-001', 'Trường THCS Tu Lý', 'school', 'THCS', 'DABAC', 'HB', 1735689600);
INSERT INTO units VALUES('HB-002', 'Trường Tiểu học Hiền Lương', 'school', 'TH', 'DABAC', 'HB', 1735689600);
INSERT INTO devices VALUES(1, 'HB-001', '0123456789ab', zeroblob(32), '11111111-1111-4111-8111-111111111111', 1735689600, 1763600000, NULL);
INSERT INTO devices VALUES(2, 'HB-002', 'abcdef012345', zeroblob(32), NULL, 1735689600, NULL, 1740000000);
INSERT INTO cursors VALUES('11111111-1111-4111-8111-111111111111', 'HB-001', 1, 1763600000);
INSERT INTO events VALUES('22222222-2222-4222-8222-222222222222', 'HB-001', 'outreach', '2025-11-20', 1, 0, '11111111-1111-4111-8111-111111111111', 1, 1763600000, 1763600000, zeroblob(32), '{"title":"Họp phụ huynh","parents":40}');
INSERT INTO event_history VALUES('22222222-2222-4222-8222-222222222222', 1, 'HB-001', 'outreach', '2025-11-20', 0, '11111111-1111-4111-8111-111111111111', 1, 1763600000, 1763600000, zeroblob(32), '{"title":"Họp phụ huynh","parents":40}');
PRAGMA user_version = 1;
