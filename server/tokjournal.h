/* tokjournal.h - the token journal: every enrolment and revocation of a
 * device or admin token, also written outside the database, so restoring
 * an older backup cannot bring a revoked token back to life.
 *
 * The journal is the file DB.tokens.log beside the database DB (mode
 * 0600), append-only, one line per token and event (format in
 * tokjournal.c). server/auth.c calls tb_tokjournal_enrolled and
 * tb_tokjournal_revoked inside its transaction, before COMMIT, and fails
 * the enrolment or revocation when the line cannot be written and
 * fsync'd; so every committed revocation is in the journal (a line whose
 * COMMIT then failed revokes, on a restore, a token that the office
 * believes active: the safe side). server/restore.c calls
 * tb_tokjournal_apply on the restored copy before it is put in place.
 *
 * The journal holds what the database holds of a token (its selector and
 * the first 64 bits of its SHA-256), never the token.
 */
#ifndef TB_SERVER_TOKJOURNAL_H
#define TB_SERVER_TOKJOURNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct tb_sql;

#define TB_TOKJOURNAL_SUFFIX ".tokens.log"

/* The journal's path for database path db into out (outlen bytes). 0, or
 * TB_ETOOBIG when it does not fit. */
int tb_tokjournal_path(const char *db, char *out, size_t outlen);

/* Journals the token row just inserted: devices.id (admin 0) or
 * admin_tokens.id (admin 1), on db, inside the caller's transaction. A
 * database without a file name (in memory) has no journal: 0. 0, or
 * TB_EIO with msg naming the journal. */
int tb_tokjournal_enrolled(struct tb_sql *db, int admin, int64_t id,
			   char *msg, size_t msglen);
/* Journals every token (device or admin) whose revoked_at is since or
 * later, inside the caller's transaction, after its UPDATE: the tokens
 * it revoked, and perhaps some revoked earlier in the same second again
 * (a revocation applied twice is applied once). 0 or TB_EIO with msg. */
int tb_tokjournal_revoked(struct tb_sql *db, int64_t since, char *msg,
			  size_t msglen);
/* Appends "T restore FROM" for path db: a restore from FROM at time T. */
int tb_tokjournal_restored(const char *db, const char *from, char *msg,
			   size_t msglen);

/* What tb_tokjournal_apply did. */
struct tb_tokjournal_result {
	int present;       /* 1 if the journal exists */
	int64_t lines;     /* token lines read */
	int64_t revoked;   /* tokens revoked again (active in the copy) */
	int64_t missing;   /* tokens enrolled after the copy (not in it) */
};

/* Reads the journal of database path db and applies it to the copy open
 * on cp (not yet in place): every journaled revocation is revoked in it
 * too; every journaled enrolment whose token the copy lacks (and was not
 * revoked since) is written to out as a line naming the school (or the
 * admin token), the token's selector and when it was enrolled, saying
 * what the office does next, and logged. One transaction on cp. 0;
 * TB_EIO (cannot read the journal) or a database error, with msg. */
int tb_tokjournal_apply(const char *db, struct tb_sql *cp, FILE *out,
			struct tb_tokjournal_result *res, char *msg,
			size_t msglen);

#endif
